using System.Text.Json;
using AdaRas.Model;

namespace AdaRas.Engine.Tokenization;

/// <summary>A token listed under "added_tokens": matched whole in text, before normalization and BPE.</summary>
/// <param name="Special">The file's "special" flag: such tokens are dropped by decode with skipSpecialTokens.</param>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// What AdaRas reads from a Hugging Face <c>tokenizer.json</c>: a byte-level BPE model with Qwen's pre-tokenizer.
/// Anything else the file asks for is rejected by name rather than silently tokenized differently.
/// </summary>
internal sealed class TokenizerJson
{
    public required Dictionary<string, int> Vocab { get; init; }
    /// <summary>Merge rules in rank order, each as "left right" (byte-level tokens never contain a space).</summary>
    public required List<string> Merges { get; init; }
    public required List<AddedToken> AddedTokens { get; init; }
    public required bool Nfc { get; init; }

    public static TokenizerJson Load(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path,
                $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", inner: e);
        }
        using (doc) return Parse(doc.RootElement, path);
    }

    // Long on purpose: one pass over tokenizer.json's sections in file order, each value checked where it is read so the
    // error names its JSON path; split by section, the pieces would pass the same half-built state around.
    static TokenizerJson Parse(JsonElement root, string path)
    {
        ModelFormatException Bad(string where, string what) => new(path, $"{where}: {what}");

        if (root.ValueKind != JsonValueKind.Object) throw Bad("(root)", "expected a JSON object");

        // --- model: byte-level BPE ---
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Bad("model", "missing (expected the BPE model object)");
        string type = StringOr(model, "type", "(missing)");
        if (type != "BPE") throw Bad("model.type", $"'{type}' is not supported (AdaRas reads byte-level BPE tokenizers)");
        if (IsTrue(model, "byte_fallback")) throw Bad("model.byte_fallback", "true is not supported");
        if (IsTrue(model, "ignore_merges")) throw Bad("model.ignore_merges", "true is not supported");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind is not JsonValueKind.Null)
            throw Bad("model.dropout", "BPE dropout is not supported (expected null)");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (StringOr(model, affix, "") != "") throw Bad($"model.{affix}", "a non-empty affix is not supported");
        }

        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw Bad("model.vocab", "missing (expected an object of token: id)");
        var vocab = new Dictionary<string, int>(200_000, StringComparer.Ordinal);
        var idOwner = new Dictionary<int, string>(200_000);
        foreach (var entry in vocabJson.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Bad($"model.vocab[\"{entry.Name}\"]", $"expected a non-negative integer id, found {entry.Value.GetRawText()}");
            if (idOwner.TryGetValue(id, out string? other))
                throw Bad($"model.vocab[\"{entry.Name}\"]", $"id {id} is also used by \"{other}\"");
            vocab[entry.Name] = id;
            idOwner[id] = entry.Name;
        }
        if (vocab.Count == 0) throw Bad("model.vocab", "is empty");
        for (int b = 0; b < 256; b++)
        {
            string symbol = ByteLevelAlphabet.CharFor((byte)b).ToString();
            if (!vocab.ContainsKey(symbol))
                throw Bad("model.vocab", $"lacks the byte-level symbol \"{symbol}\" for byte 0x{b:X2} (a byte-level vocabulary covers all 256 bytes)");
        }

        if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
            throw Bad("model.merges", "missing (expected an array)");
        var merges = new List<string>(mergesJson.GetArrayLength());
        int index = 0;
        foreach (var m in mergesJson.EnumerateArray())
        {
            string where = $"model.merges[{index++}]";
            string left, right;
            if (m.ValueKind == JsonValueKind.String)
            {
                // The older encoding: "left right".
                string s = m.GetString()!;
                int space = s.IndexOf(' ');
                if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                    throw Bad(where, $"expected \"left right\", found \"{s}\"");
                (left, right) = (s[..space], s[(space + 1)..]);
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                     && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            {
                // The newer encoding: ["left", "right"].
                (left, right) = (m[0].GetString()!, m[1].GetString()!);
                if (left.Length == 0 || right.Length == 0 || left.Contains(' ') || right.Contains(' '))
                    throw Bad(where, $"empty tokens or tokens with a space are not supported, found {m.GetRawText()}");
            }
            else throw Bad(where, $"expected \"left right\" or [\"left\", \"right\"], found {m.GetRawText()}");

            if (!vocab.ContainsKey(left)) throw Bad(where, $"token \"{left}\" is not in model.vocab");
            if (!vocab.ContainsKey(right)) throw Bad(where, $"token \"{right}\" is not in model.vocab");
            if (!vocab.ContainsKey(left + right)) throw Bad(where, $"merged token \"{left + right}\" is not in model.vocab");
            merges.Add(left + " " + right);
        }

        // --- added tokens: matched whole, on the raw text ---
        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind != JsonValueKind.Null)
        {
            if (addedJson.ValueKind != JsonValueKind.Array) throw Bad("added_tokens", "expected an array");
            index = 0;
            foreach (var t in addedJson.EnumerateArray())
            {
                string where = $"added_tokens[{index++}]";
                if (t.ValueKind != JsonValueKind.Object) throw Bad(where, "expected an object");
                if (!t.TryGetProperty("id", out var idJson) || !idJson.TryGetInt32(out int id) || id < 0)
                    throw Bad(where + ".id", "missing or not a non-negative integer");
                string content = StringOr(t, "content", "");
                if (content.Length == 0) throw Bad(where + ".content", "missing or empty");
                foreach (string flag in new[] { "lstrip", "rstrip", "single_word", "normalized" })
                {
                    if (IsTrue(t, flag))
                        throw Bad($"{where}.{flag}", $"true is not supported (token \"{content}\"; Qwen's added tokens have it false)");
                }
                if (idOwner.TryGetValue(id, out string? owner) && owner != content)
                    throw Bad(where + ".id", $"id {id} of \"{content}\" is already used by \"{owner}\"");
                idOwner[id] = content;
                added.Add(new AddedToken(id, content, IsTrue(t, "special")));
            }
        }

        // --- normalizer: NFC or none ---
        bool nfc = false;
        if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind != JsonValueKind.Null)
        {
            var steps = StringOr(norm, "type", "") == "Sequence" && norm.TryGetProperty("normalizers", out var list)
                && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().ToList()
                : [norm];
            foreach (var step in steps)
            {
                string t = StringOr(step, "type", "(missing)");
                if (t != "NFC") throw Bad("normalizer", $"type '{t}' is not supported (only NFC)");
                nfc = true;
            }
        }

        // --- pre-tokenizer: Qwen's Split regex, then ByteLevel without its own regex ---
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw Bad("pre_tokenizer", "missing (expected Qwen's Split + ByteLevel sequence)");
        var pres = StringOr(pre, "type", "") == "Sequence" && pre.TryGetProperty("pretokenizers", out var preList)
            && preList.ValueKind == JsonValueKind.Array
            ? preList.EnumerateArray().ToList()
            : [pre];
        string found = string.Join(", ", pres.Select(p => StringOr(p, "type", "?")));
        if (pres.Count != 2 || StringOr(pres[0], "type", "") != "Split" || StringOr(pres[1], "type", "") != "ByteLevel")
            throw Bad("pre_tokenizer", $"[{found}] is not supported (expected [Split, ByteLevel] as in Qwen's tokenizer.json)");
        var split = pres[0];
        string regex = split.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
            ? StringOr(pattern, "Regex", "(no Regex)") : "(no pattern)";
        if (regex != QwenPreTokenizer.Pattern)
            throw Bad("pre_tokenizer.pretokenizers[0].pattern.Regex", $"\"{regex}\" is not Qwen's pre-tokenizer regex, the only one supported");
        if (StringOr(split, "behavior", "") != "Isolated" || IsTrue(split, "invert"))
            throw Bad("pre_tokenizer.pretokenizers[0]", "expected behavior \"Isolated\" and invert false");
        if (IsTrue(pres[1], "add_prefix_space") || IsTrue(pres[1], "use_regex"))
            throw Bad("pre_tokenizer.pretokenizers[1]", "ByteLevel with add_prefix_space or use_regex is not supported");

        // --- decoder and post-processor: byte-level only (no BOS/EOS templates) ---
        if (root.TryGetProperty("decoder", out var dec) && dec.ValueKind != JsonValueKind.Null
            && StringOr(dec, "type", "(missing)") != "ByteLevel")
            throw Bad("decoder.type", $"'{StringOr(dec, "type", "(missing)")}' is not supported (expected ByteLevel)");
        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind != JsonValueKind.Null
            && StringOr(post, "type", "(missing)") != "ByteLevel")
            throw Bad("post_processor.type", $"'{StringOr(post, "type", "(missing)")}' is not supported (expected ByteLevel or null: nothing added around the text)");

        return new TokenizerJson { Vocab = vocab, Merges = merges, AddedTokens = added, Nfc = nfc };
    }

    static string StringOr(JsonElement obj, string name, string fallback) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()! : fallback;

    static bool IsTrue(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
