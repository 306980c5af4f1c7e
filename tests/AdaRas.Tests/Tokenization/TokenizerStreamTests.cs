using System.Diagnostics;
using System.Text;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

[TestFixture]
public class TokenizerStreamTests
{
    QwenTokenizer _tok = null!;

    [OneTimeSetUp]
    public void Load() => _tok = TokenizerOracle.Qwen3Tokenizer;

    static string StreamAll(TokenizerStream stream, IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(stream.Decode(id));
        return sb.Append(stream.Flush()).ToString();
    }

    [Test]
    public void StreamedTextEqualsWholeDecodeForTheCorpus()
    {
        foreach (string text in TokenizerOracle.LoadCorpus())
        {
            int[] ids = _tok.Encode(text);
            Assert.That(StreamAll(_tok.CreateStream(), ids), Is.EqualTo(_tok.Decode(ids)), text);
            Assert.That(StreamAll(_tok.CreateStream(skipSpecialTokens: true), ids),
                Is.EqualTo(_tok.Decode(ids, skipSpecialTokens: true)), text);
        }
    }

    [Test]
    public void IncompleteCharactersAreHeldBackUntilComplete()
    {
        // Byte-level BPE splits rare characters into byte tokens: a 4-byte emoji may take several ids.
        string text = "ok 🫠!";
        int[] ids = _tok.Encode(text);
        var stream = _tok.CreateStream();
        var pieces = ids.Select(stream.Decode).ToList();

        Assert.That(string.Concat(pieces), Is.EqualTo(text));
        Assert.That(pieces, Has.Some.Empty, "some id should end inside the emoji, yielding nothing yet");
        Assert.That(pieces.All(p => p.Length == 0 || !char.IsHighSurrogate(p[^1])), "never half a surrogate pair");
        Assert.That(stream.Flush(), Is.Empty);
    }

    [Test]
    public void RandomIdSequencesStreamLikeWholeDecode()
    {
        // Arbitrary ids, including lone UTF-8 continuation bytes, padded ids and special tokens: invalid UTF-8
        // must come out as the same U+FFFD characters either way.
        var rng = new Random(7);
        int[] byteTokens = Enumerable.Range(0, 256).Select(b => _tok.TokenToId(ByteLevelSymbols.Of((byte)b))!.Value).ToArray();
        for (int round = 0; round < 300; round++)
        {
            int[] ids = Enumerable.Range(0, rng.Next(1, 12)).Select(_ => rng.Next(4) switch
            {
                0 => rng.Next(0, 151936),
                1 => 151643 + rng.Next(26),
                _ => byteTokens[rng.Next(256)],
            }).ToArray();
            Assert.That(StreamAll(_tok.CreateStream(), ids), Is.EqualTo(_tok.Decode(ids)), string.Join(",", ids));
        }
    }

    [Test]
    public void FlushTurnsAnUnfinishedCharacterIntoReplacementCharacter()
    {
        var stream = _tok.CreateStream();
        // "€" is E2 82 AC; feed only its first two bytes.
        Assert.That(stream.Decode(_tok.TokenToId(ByteLevelSymbols.Of(0xE2))!.Value), Is.Empty);
        Assert.That(stream.Decode(_tok.TokenToId(ByteLevelSymbols.Of(0x82))!.Value), Is.Empty);
        Assert.That(stream.Flush(), Is.EqualTo("\uFFFD"));
        Assert.That(stream.Decode(_tok.TokenToId("a")!.Value), Is.EqualTo("a"), "the stream goes on after a flush");
    }

}
