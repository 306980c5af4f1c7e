using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using AdaRas.Engine.Tokenization;
using AdaRas.Model;

namespace AdaRas.Tests.Tokenization;

/// <summary>
/// A tiny byte-level tokenizer.json written by the test: merges whose effect is known by hand, both merge
/// encodings, added tokens, and every kind of bad file.
/// </summary>
[TestFixture]
public class TinyTokenizerTests
{
    string _dir = null!;

    [SetUp]
    public void MakeFolder() => _dir = Directory.CreateTempSubdirectory("adaras-tok-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_dir, recursive: true);


    static readonly string[][] Merges =
    [
        ["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"], ["Ġw", "o"], ["r", "l"], ["Ġwo", "rl"], ["Ġworl", "d"],
        ["b", "c"], ["a", "b"], // "abc": b+c ranks before a+b, so it becomes a, bc
    ];

    /// <summary>Ids: bytes 0..255 in byte order, then merged tokens from 256, added tokens at 1000+.</summary>
    static JsonObject TinyJson(bool pairMerges)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelSymbols.Of((byte)b)] = b;
        int next = 256;
        foreach (var m in Merges)
        {
            string merged = m[0] + m[1];
            if (!vocab.ContainsKey(merged)) vocab[merged] = next++;
        }
        var merges = new JsonArray(Merges.Select(m => pairMerges
            ? (JsonNode)new JsonArray(m[0], m[1])
            : JsonValue.Create(m[0] + " " + m[1])!).ToArray());
        JsonObject Added(int id, string content, bool special) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = special,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(1000, "<|im_start|>", true), Added(1001, "<|im_end|>", true), Added(1002, "<think>", false)),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = QwenPreTokenizer.Pattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "", ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }

    string Write(JsonObject json) => WriteText(json.ToJsonString());

    string WriteText(string text)
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void MergesApplyInRankOrder(bool pairMerges)
    {
        var tok = QwenTokenizer.FromFile(Write(TinyJson(pairMerges)));
        int Id(string t) => tok.TokenToId(t) ?? throw new AssertionException($"no token {t}");

        Assert.That(tok.Encode("hello world"), Is.EqualTo(new[] { Id("hello"), Id("Ġworld") }));
        // Without its leading space "world" only gets the r+l merge.
        Assert.That(tok.Encode("world"), Is.EqualTo(new[] { Id("w"), Id("o"), Id("rl"), Id("d") }));
        Assert.That(tok.Encode("abc"), Is.EqualTo(new[] { Id("a"), Id("bc") }));
        Assert.That(tok.Encode("ab"), Is.EqualTo(new[] { Id("ab") }));
        // The pre-tokenizer keeps "hello" and " hello" apart from the punctuation.
        Assert.That(tok.Encode("hello!hello"), Is.EqualTo(new[] { Id("hello"), Id("!"), Id("hello") }));
        Assert.That(tok.VocabCount, Is.EqualTo(1003));
    }

    [Test]
    public void BothMergeEncodingsGiveTheSameTokenizer()
    {
        var strings = QwenTokenizer.FromFile(Write(TinyJson(pairMerges: false)));
        var pairs = QwenTokenizer.FromFile(Write(TinyJson(pairMerges: true)));
        foreach (string s in new[] { "hello world", "abcabc", "well hello there, world!", "héllo wörld 😀" })
            Assert.That(pairs.Encode(s), Is.EqualTo(strings.Encode(s)), s);
    }

    [Test]
    public void AddedTokensAndRoundTrip()
    {
        var tok = QwenTokenizer.FromFile(Write(TinyJson(pairMerges: true)));
        int[] ids = tok.Encode("<|im_start|>hello<think>world<|im_end|>");
        Assert.That(ids[0], Is.EqualTo(1000));
        Assert.That(ids[1], Is.EqualTo(tok.TokenToId("hello")));
        Assert.That(ids[2], Is.EqualTo(1002));
        Assert.That(ids[^1], Is.EqualTo(1001));
        Assert.That(tok.Decode(ids), Is.EqualTo("<|im_start|>hello<think>world<|im_end|>"));
        Assert.That(tok.Decode(ids, skipSpecialTokens: true), Is.EqualTo("hello<think>world"));
        Assert.That(tok.IsSpecial(1000) && !tok.IsSpecial(1002));

        string[] texts =
        [
            "", " ", "hello", "  two  spaces  ", "tabs\tand\nnewlines\r\n", "数学 😀 👩🏽‍💻", "x = [1, 2, 3]  # ok\n",
            "\\frac{a}{b} + $x^2$", "'s 'LL I'm", "\u00a0nbsp\u3000ideographic", "𝐱𝟏", "<think>", "<|im_start|>\n",
        ];
        foreach (string s in texts) Assert.That(tok.Decode(tok.Encode(s)), Is.EqualTo(s), s);

        // NFC: decomposed input comes back composed.
        Assert.That(tok.Decode(tok.Encode("cafe\u0301 \u212b")), Is.EqualTo("caf\u00e9 \u00c5"));

        // Ids beyond the tokenizer decode to nothing.
        Assert.That(tok.Decode([tok.TokenToId("hello")!.Value, 1003, 5000]), Is.EqualTo("hello"));
    }

    [Test]
    public void RandomTextRoundTrips()
    {
        var tok = QwenTokenizer.FromFile(Write(TinyJson(pairMerges: true)));
        var rng = new Random(99);
        string[] pieces = ["h", "e", "l", "o", " ", "  ", "\n", "\t", "w", "r", "d", "a", "b", "c", "1", "!", "你", "😀", "é", "<think>", "'s", "\u3000"];
        for (int i = 0; i < 500; i++)
        {
            string s = string.Concat(Enumerable.Range(0, rng.Next(0, 20)).Select(_ => pieces[rng.Next(pieces.Length)]));
            Assert.That(tok.Decode(tok.Encode(s)), Is.EqualTo(s), s);
        }
    }

    // ---- bad input: each names the file and what is wrong ----

    ModelFormatException LoadFails(string path, params string[] messageParts)
    {
        var e = Assert.Throws<ModelFormatException>(() => QwenTokenizer.FromFile(path))!;
        Assert.That(e.FilePath, Is.EqualTo(Path.GetFullPath(path)));
        Assert.That(e.Message, Does.Contain(Path.GetFullPath(path)));
        foreach (string part in messageParts) Assert.That(e.Message, Does.Contain(part));
        return e;
    }

    [Test]
    public void MissingFileOrFolder()
    {
        LoadFails(Path.Combine(_dir, "tokenizer.json"), "file not found");
        var e = Assert.Throws<ModelFormatException>(() => QwenTokenizer.FromFolder(Path.Combine(_dir, "nope")))!;
        Assert.That(e.Message, Does.Contain("nope").And.Contain("not found"));
        e = Assert.Throws<ModelFormatException>(() => QwenTokenizer.FromFolder(_dir))!;
        Assert.That(e.FilePath, Is.EqualTo(Path.Combine(_dir, "tokenizer.json")));
    }

    [Test]
    public void MalformedJsonNamesTheLine()
    {
        LoadFails(WriteText("{\n  \"model\": {\n    \"type\": \"BPE\",,\n"), "not valid JSON", "line 3");
        LoadFails(WriteText("[1, 2]"), "expected a JSON object");
    }

    [Test]
    public void UnsupportedContentIsRejectedByName()
    {
        JsonObject j;

        j = TinyJson(true); j["model"]!["type"] = "WordPiece";
        LoadFails(Write(j), "model.type", "WordPiece");

        j = TinyJson(true); j.Remove("model");
        LoadFails(Write(j), "model", "missing");

        j = TinyJson(true); j["normalizer"] = new JsonObject { ["type"] = "NFKC" };
        LoadFails(Write(j), "normalizer", "NFKC");

        j = TinyJson(true); j["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = @"\s+|\S+";
        LoadFails(Write(j), "pattern.Regex", @"\s+|\S+");

        j = TinyJson(true); j["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" };
        LoadFails(Write(j), "pre_tokenizer", "Whitespace");

        j = TinyJson(true); j["decoder"] = new JsonObject { ["type"] = "WordPiece" };
        LoadFails(Write(j), "decoder.type");

        j = TinyJson(true); j["post_processor"] = new JsonObject { ["type"] = "TemplateProcessing" };
        LoadFails(Write(j), "post_processor.type", "TemplateProcessing");

        j = TinyJson(true); j["model"]!["byte_fallback"] = true;
        LoadFails(Write(j), "model.byte_fallback");

        j = TinyJson(true); j["added_tokens"]![0]!["lstrip"] = true;
        LoadFails(Write(j), "added_tokens[0].lstrip", "<|im_start|>");
    }

    [Test]
    public void BrokenVocabularyOrMergesAreRejectedByEntry()
    {
        JsonObject j;

        j = TinyJson(true); j["model"]!["merges"]!.AsArray()[2] = 42;
        LoadFails(Write(j), "model.merges[2]", "42");

        j = TinyJson(false); j["model"]!["merges"]!.AsArray()[1] = "l l l";
        LoadFails(Write(j), "model.merges[1]", "l l l");

        j = TinyJson(true); j["model"]!["merges"]!.AsArray().Add(new JsonArray("x", "yz"));
        LoadFails(Write(j), "model.merges[11]", "\"yz\" is not in model.vocab");

        j = TinyJson(true); j["model"]!["merges"]!.AsArray().Add(new JsonArray("x", "y"));
        LoadFails(Write(j), "model.merges[11]", "merged token \"xy\"");

        j = TinyJson(true); j["model"]!["vocab"]!.AsObject().Remove(ByteLevelSymbols.Of(0x20));
        LoadFails(Write(j), "model.vocab", "byte 0x20");

        j = TinyJson(true); j["model"]!["vocab"]!["hello"] = "seven";
        LoadFails(Write(j), "model.vocab[\"hello\"]", "seven");

        j = TinyJson(true); j["model"]!["vocab"]!["hello"] = 5;
        LoadFails(Write(j), "id 5");

        j = TinyJson(true); j["added_tokens"]![0]!["id"] = 7;
        LoadFails(Write(j), "added_tokens[0].id", "id 7");
    }
}

/// <summary>
/// The project's own tiny tokenizer (AdaRas.Model.Synthetic.TinyTokenizer, used by the tiny test checkpoints), read by the
/// engine and compared with a naive reference BPE written here: split by the regex, bytes to symbols, then
/// repeatedly merge the adjacent pair of lowest rank (leftmost on ties).
/// </summary>
[TestFixture]
public class ProjectTinyTokenizerTests
{
    QwenTokenizer _tok = null!;

    [OneTimeSetUp]
    public void Load()
    {
        string dir = Directory.CreateTempSubdirectory("adaras-tiny-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), AdaRas.Model.Synthetic.TinyTokenizer.TokenizerJson());
            _tok = QwenTokenizer.FromFolder(dir);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static int[] ReferenceEncode(string text)
    {
        var rank = AdaRas.Model.Synthetic.TinyTokenizer.Merges.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        var vocab = AdaRas.Model.Synthetic.TinyTokenizer.Vocab;
        var ids = new List<int>();
        // .NET's regex is exact for text inside the BMP, which is all this test feeds it.
        foreach (System.Text.RegularExpressions.Match piece in System.Text.RegularExpressions.Regex.Matches(text, QwenPreTokenizer.Pattern))
        {
            var symbols = Encoding.UTF8.GetBytes(piece.Value).Select(b => AdaRas.Model.Synthetic.TinyTokenizer.ByteToChar(b).ToString()).ToList();
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (rank.TryGetValue((symbols[i], symbols[i + 1]), out int r) && r < bestRank) (best, bestRank) = (i, r);
                }
                if (best < 0) break;
                symbols[best] += symbols[best + 1];
                symbols.RemoveAt(best + 1);
            }
            ids.AddRange(symbols.Select(s => vocab[s]));
        }
        return ids.ToArray();
    }

    [Test]
    public void EncodesAsTheNaiveReferenceAndRoundTrips()
    {
        string[] texts =
        [
            "Question: Natalie has 12 apples. She gives 5 apples to her friend.\nThinking process: 12 - 5 = 7.",
            "The final answer is \\boxed{15}.", "def add(a, b):\n    return a + b\n", "  leading and trailing  ",
            "I'm sure they're right, aren't they?", "$\\frac{1}{2} + x^2$", "tabs\tand\r\nCRLF", "café naïve", "中文 ✓",
            "", " ", "\n\n\n", "zzzz qqqq 0000",
        ];
        foreach (string text in texts)
        {
            Assert.That(_tok.Encode(text), Is.EqualTo(ReferenceEncode(text)), text);
            Assert.That(_tok.Decode(_tok.Encode(text)), Is.EqualTo(text), text);
        }
        Assert.That(_tok.Encode("Question: apples").Length, Is.LessThan("Question: apples".Length), "merges should apply");
    }

    [Test]
    public void SpecialTokensMatchTheTinyTokenizer()
    {
        Assert.That(_tok.VocabCount, Is.EqualTo(AdaRas.Model.Synthetic.TinyTokenizer.TokenCount));
        foreach (string special in AdaRas.Model.Synthetic.TinyTokenizer.SpecialTokens)
        {
            int id = AdaRas.Model.Synthetic.TinyTokenizer.IdOf(special);
            Assert.That(_tok.Encode(special), Is.EqualTo(new[] { id }), special);
            Assert.That(_tok.SpecialTokens[special], Is.EqualTo(id));
            Assert.That(_tok.IsSpecial(id), Is.EqualTo(AdaRas.Model.Synthetic.TinyTokenizer.IsSpecial(special)), special);
        }
        string prompt = Qwen3ChatTemplate.Render("What is 2+2?", enableThinking: false);
        int[] ids = _tok.Encode(prompt);
        Assert.That(ids[0], Is.EqualTo(AdaRas.Model.Synthetic.TinyTokenizer.IdOf(AdaRas.Model.Synthetic.TinyTokenizer.ImStart)));
        Assert.That(_tok.Decode(ids), Is.EqualTo(prompt));
        Assert.That(_tok.Decode(ids, skipSpecialTokens: true), Is.EqualTo("user\nWhat is 2+2?\nassistant\n<think>\n\n</think>\n\n"));
    }
}
