using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AdaRas.Model.Synthetic;

/// <summary>
/// A small byte-level BPE tokenizer in the exact Hugging Face <c>tokenizers</c> format that Qwen3's
/// <c>tokenizer.json</c> uses (same normalizer, pre-tokenizer, decoder and special-token layout), so tiny test
/// checkpoints exercise the same loading code as real ones.
/// <para>
/// Vocabulary: ids 0..255 are the 256 byte symbols (GPT-2's bytes_to_unicode mapping) in byte order, so id b is
/// byte b; then <see cref="MergeCount"/> merges learned deterministically from an embedded text (English, digits,
/// LaTeX, Python); then the special tokens, in the order of <see cref="SpecialTokens"/>.
/// </para>
/// </summary>
internal static class TinyTokenizer
{
    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string ThinkStart = "<think>";
    public const string ThinkEnd = "</think>";

    /// <summary>Added tokens, with ids right after the BPE vocabulary in this order.</summary>
    public static IReadOnlyList<string> SpecialTokens => SpecialTokenArray;

    static readonly string[] SpecialTokenArray = [EndOfText, ImStart, ImEnd, ThinkStart, ThinkEnd];

    /// <summary>Number of merges the trainer learns (it fails loudly if the corpus cannot supply them).</summary>
    public const int MergeCount = 300;

    /// <summary>Qwen2/Qwen3's pre-tokenizer split pattern, verbatim from their tokenizer.json.</summary>
    public const string SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly Lazy<Trained> Model = new(Train);

    /// <summary>Byte symbols plus learned merges (the ids before the special tokens).</summary>
    public static int BpeVocabSize => Model.Value.Vocab.Count;

    /// <summary>All ids with a token: the BPE vocabulary plus the special tokens.</summary>
    public static int TokenCount => BpeVocabSize + SpecialTokens.Count;

    /// <summary>Token string to id, for the BPE part (byte-level symbols, not raw text).</summary>
    public static IReadOnlyDictionary<string, int> Vocab => Model.Value.Vocab;

    /// <summary>Merges in rank order.</summary>
    public static IReadOnlyList<(string Left, string Right)> Merges => Model.Value.Merges;

    public static int IdOf(string specialToken)
    {
        int i = Array.IndexOf(SpecialTokenArray, specialToken);
        if (i < 0) throw new ArgumentException($"'{specialToken}' is not a special token of the tiny tokenizer");
        return BpeVocabSize + i;
    }

    /// <summary>Whether an added token counts as "special" (skipped when decoding with skip_special_tokens).
    /// As in Qwen3's own file: the chat markers are special, the think tags are not.</summary>
    public static bool IsSpecial(string token) => token is EndOfText or ImStart or ImEnd;

    /// <summary>Qwen3's chat template, verbatim (data copied from Qwen3's tokenizer_config.json).</summary>
    public static string ChatTemplate => ChatTemplateText.Value;

    static readonly Lazy<string> ChatTemplateText = new(() => ReadResource("qwen3_chat_template.jinja"));

    /// <summary>GPT-2's reversible byte to printable-character map used by byte-level BPE.</summary>
    public static char ByteToChar(byte b) => ByteChars.Value[b];

    static readonly Lazy<char[]> ByteChars = new(() =>
    {
        // Printable Latin-1 bytes map to themselves; the rest are shifted to 256 + n in byte order.
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    });

    /// <summary>The byte-level symbols of a piece of text (UTF-8 bytes, each mapped by <see cref="ByteToChar"/>).</summary>
    public static string ToByteLevel(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar(bytes[i]);
        return new string(chars);
    }

    /// <summary>The <c>tokenizer.json</c> text (indented, non-ASCII symbols written as themselves, like the real file).</summary>
// Long on purpose: a JSON literal, the tokenizer.json of the tiny vocabulary, field for field as Qwen3's.
    public static string TokenizerJson()
    {
        var m = Model.Value;
        var addedTokens = new JsonArray();
        foreach (var token in SpecialTokens)
            addedTokens.Add(new JsonObject
            {
                ["id"] = IdOf(token),
                ["content"] = token,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = IsSpecial(token),
            });

        JsonObject ByteLevel() => new()
        {
            ["type"] = "ByteLevel",
            ["add_prefix_space"] = false,
            ["trim_offsets"] = false,
            ["use_regex"] = false,
        };

        var vocab = new JsonObject();
        foreach (var (token, id) in m.Vocab.OrderBy(kv => kv.Value)) vocab[token] = id;
        var merges = new JsonArray();
        foreach (var (left, right) in m.Merges) merges.Add(new JsonArray(left, right));

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = SplitPattern },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    ByteLevel()),
            },
            ["post_processor"] = ByteLevel(),
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
        return root.ToJsonString(JsonOptions);
    }

    /// <summary>The <c>tokenizer_config.json</c> text, shaped like Qwen3's (chat template included).</summary>
    public static string TokenizerConfigJson(int modelMaxLength)
    {
        var decoder = new JsonObject();
        foreach (var token in SpecialTokens)
            decoder[IdOf(token).ToString()] = new JsonObject
            {
                ["content"] = token,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = IsSpecial(token),
            };
        var root = new JsonObject
        {
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = decoder,
            ["additional_special_tokens"] = new JsonArray(ImStart, ImEnd),
            ["bos_token"] = null,
            ["chat_template"] = ChatTemplate,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = ImEnd,
            ["errors"] = "replace",
            ["model_max_length"] = modelMaxLength,
            ["pad_token"] = EndOfText,
            ["split_special_tokens"] = false,
            ["tokenizer_class"] = "Qwen2Tokenizer",
            ["unk_token"] = null,
        };
        return root.ToJsonString(JsonOptions);
    }

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    sealed record Trained(Dictionary<string, int> Vocab, List<(string Left, string Right)> Merges);

    /// <summary>
    /// Classic BPE training: split the corpus the way the tokenizer will (NFC, Qwen's regex, byte-level), then
    /// repeatedly merge the most frequent adjacent pair. Ties go to the ordinally smallest pair so the result
    /// never depends on dictionary order. A pair whose concatenation is already a token is skipped, so every
    /// merge adds exactly one new token.
    /// </summary>
    static Trained Train()
    {
        var corpus = ReadResource("tiny_tokenizer_corpus.txt").Replace("\r\n", "\n").Normalize(NormalizationForm.FormC);
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match match in Regex.Matches(corpus, SplitPattern))
        {
            var word = ToByteLevel(match.Value);
            wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
        }
        // Sorted words so pair counting and merging visit them in a fixed order.
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++) vocab[ByteToChar((byte)b).ToString()] = b;
        var merges = new List<(string, string)>();

        while (merges.Count < MergeCount)
        {
            var pairCounts = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + count;
                }

            (string Left, string Right)? best = null;
            int bestCount = 1; // a pair seen once is not worth a token
            foreach (var (pair, count) in pairCounts)
            {
                if (vocab.ContainsKey(pair.Item1 + pair.Item2)) continue;
                if (count > bestCount || (count == bestCount && best is { } b && ComparePairs(pair, b) < 0))
                {
                    best = pair;
                    bestCount = count;
                }
            }
            if (best is not { } chosen)
                throw new InvalidOperationException($"tiny tokenizer corpus yields only {merges.Count} merges, {MergeCount} needed");

            string merged = chosen.Left + chosen.Right;
            vocab[merged] = vocab.Count;
            merges.Add(chosen);
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == chosen.Left && symbols[i + 1] == chosen.Right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return new Trained(vocab, merges);
    }

    static int ComparePairs((string, string) a, (string, string) b)
    {
        int c = string.CompareOrdinal(a.Item1, b.Item1);
        return c != 0 ? c : string.CompareOrdinal(a.Item2, b.Item2);
    }

    static string ReadResource(string fileName)
    {
        var assembly = typeof(TinyTokenizer).Assembly;
        var name = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith("." + fileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"embedded resource '{fileName}' is missing from {assembly.GetName().Name}");
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
