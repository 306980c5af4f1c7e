using System.Text;
using System.Text.Json.Nodes;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Tools;

public class TinyTokenizerTests
{
    static JsonObject Tokenizer() => (JsonObject)JsonNode.Parse(TinyTokenizer.TokenizerJson())!;

    [Test]
    public void Vocabulary_IsBytesThenMergesThenSpecialTokens()
    {
        Assert.That(TinyTokenizer.BpeVocabSize, Is.EqualTo(256 + TinyTokenizer.MergeCount));
        Assert.That(TinyTokenizer.TokenCount, Is.EqualTo(TinyTokenizer.BpeVocabSize + 5));
        var vocab = Tokenizer()["model"]!["vocab"]!.AsObject().ToDictionary(kv => kv.Key, kv => (int)kv.Value!);
        Assert.That(vocab.Values.Order(), Is.EqualTo(Enumerable.Range(0, TinyTokenizer.BpeVocabSize)), "ids are dense from 0");
        // GPT-2 byte-level symbols, in byte order: id b is byte b.
        Assert.That(vocab["!"], Is.EqualTo(33));
        Assert.That(vocab["Ġ"], Is.EqualTo(32), "space is U+0120");
        Assert.That(vocab["Ċ"], Is.EqualTo(10), "newline is U+010A");
        Assert.That(vocab["Ā"], Is.EqualTo(0));
        Assert.That(vocab["ÿ"], Is.EqualTo(255));
        Assert.That(vocab["Ń"], Is.EqualTo(173), "soft hyphen, the last non-printable byte, is U+0143");
        Assert.That(TinyTokenizer.IdOf(TinyTokenizer.EndOfText), Is.EqualTo(TinyTokenizer.BpeVocabSize));
        Assert.That(TinyTokenizer.IdOf(TinyTokenizer.ThinkEnd), Is.EqualTo(TinyTokenizer.BpeVocabSize + 4));
    }

    [Test]
    public void Merges_AreConsistentWithTheVocabulary()
    {
        var model = Tokenizer()["model"]!;
        var vocab = model["vocab"]!.AsObject().ToDictionary(kv => kv.Key, kv => (int)kv.Value!);
        var merges = model["merges"]!.AsArray().Select(m => ((string)m![0]!, (string)m[1]!)).ToList();
        Assert.That(merges, Has.Count.EqualTo(TinyTokenizer.MergeCount));
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            Assert.That(vocab.ContainsKey(left) && vocab.ContainsKey(right), $"merge {rank} parts");
            Assert.That(vocab[left + right], Is.EqualTo(256 + rank), $"merge {rank} makes the next token");
            Assert.That(Math.Max(vocab[left], vocab[right]), Is.LessThan(256 + rank), $"merge {rank} uses earlier tokens only");
        }
        // Learned from the embedded text: the most common pieces of English, LaTeX and Python appear.
        Assert.That(vocab.Keys, Does.Contain("Ġthe").And.Contain("frac").And.Contain("Ġreturn"));
    }

    [Test]
    public void TokenizerJson_HasQwen3sPipeline()
    {
        var json = Tokenizer();
        Assert.Multiple(() =>
        {
            Assert.That((string?)json["normalizer"]!["type"], Is.EqualTo("NFC"));
            var pre = json["pre_tokenizer"]!;
            Assert.That((string?)pre["type"], Is.EqualTo("Sequence"));
            Assert.That((string?)pre["pretokenizers"]![0]!["pattern"]!["Regex"], Is.EqualTo(TinyTokenizer.SplitPattern));
            Assert.That((string?)pre["pretokenizers"]![0]!["behavior"], Is.EqualTo("Isolated"));
            Assert.That((string?)pre["pretokenizers"]![1]!["type"], Is.EqualTo("ByteLevel"));
            Assert.That((bool?)pre["pretokenizers"]![1]!["use_regex"], Is.False);
            Assert.That((bool?)pre["pretokenizers"]![1]!["add_prefix_space"], Is.False);
            Assert.That((string?)json["decoder"]!["type"], Is.EqualTo("ByteLevel"));
            Assert.That((string?)json["model"]!["type"], Is.EqualTo("BPE"));
            Assert.That((bool?)json["model"]!["byte_fallback"], Is.False);
            var added = json["added_tokens"]!.AsArray();
            Assert.That(added.Select(a => (string)a!["content"]!), Is.EqualTo(TinyTokenizer.SpecialTokens));
            Assert.That(added.Select(a => (bool)a!["special"]!), Is.EqualTo(new[] { true, true, true, false, false }),
                "as in Qwen3: chat markers are special, think tags are not");
            Assert.That(added.Select(a => (bool)a!["normalized"]!), Has.All.False);
        });
        Assert.That(TinyTokenizer.TokenizerJson(), Does.Contain("\"Ġthe\""), "symbols are written as themselves, like the real file");
    }

    [Test]
    public void TokenizerConfig_CarriesQwen3sChatTemplateAndSpecialTokens()
    {
        var config = (JsonObject)JsonNode.Parse(TinyTokenizer.TokenizerConfigJson(256))!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)config["eos_token"], Is.EqualTo("<|im_end|>"));
            Assert.That((string?)config["pad_token"], Is.EqualTo("<|endoftext|>"));
            Assert.That(config["bos_token"], Is.Null);
            Assert.That((string?)config["tokenizer_class"], Is.EqualTo("Qwen2Tokenizer"));
            Assert.That((int?)config["model_max_length"], Is.EqualTo(256));
            var decoder = config["added_tokens_decoder"]!.AsObject();
            Assert.That((string?)decoder[TinyTokenizer.IdOf("<|im_end|>").ToString()]!["content"], Is.EqualTo("<|im_end|>"));
            Assert.That(decoder.Count, Is.EqualTo(5));
            var template = (string)config["chat_template"]!;
            Assert.That(template, Does.StartWith("{%- if tools %}"));
            Assert.That(template, Does.Contain("enable_thinking is defined and enable_thinking is false"));
            Assert.That(template, Does.Contain("'<think>\\n\\n</think>\\n\\n'"));
            Assert.That(template, Has.Length.EqualTo(4116), "the template is Qwen3's, byte for byte");
        });
    }

    [Test]
    public void ByteLevelMapping_IsReversibleOverAllBytes()
    {
        var chars = Enumerable.Range(0, 256).Select(b => TinyTokenizer.ByteToChar((byte)b)).ToArray();
        Assert.That(chars.Distinct().Count(), Is.EqualTo(256));
        Assert.That(TinyTokenizer.ToByteLevel("a b\n"), Is.EqualTo("aĠbĊ"));
        Assert.That(TinyTokenizer.ToByteLevel("é"), Is.EqualTo(string.Concat(Encoding.UTF8.GetBytes("é").Select(b => chars[b]))));
        Assert.That(TinyTokenizer.ToByteLevel("é"), Is.EqualTo("Ã©"));
    }
}
