using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

/// <summary>
/// Pieces of Qwen's pre-tokenizer regex, worked out by hand from the pattern
/// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// with code-point semantics (as Hugging Face's Oniguruma evaluates it).
/// </summary>
[TestFixture]
public class QwenPreTokenizerTests
{
    static string[] Pieces(string text) =>
        QwenPreTokenizer.Instance.PreTokenize(text).Select(p => text.Substring(p.Offset, p.Length)).ToArray();

    [TestCase("Hello world", new[] { "Hello", " world" })]
    [TestCase("I'm", new[] { "I", "'m" })]
    [TestCase("WE'RE here", new[] { "WE", "'RE", " here" })]
    [TestCase("'sgood", new[] { "'s", "good" })]
    [TestCase("it’s", new[] { "it", "’s" })] // U+2019 is not an apostrophe for the contraction rule
    [TestCase("  hello", new[] { " ", " hello" })]
    [TestCase("hello  ", new[] { "hello", "  " })]
    [TestCase("a\n\n  b", new[] { "a", "\n\n", " ", " b" })]
    [TestCase("  \n\t x", new[] { "  \n", "\t", " x" })]
    [TestCase("foo\r\nbar", new[] { "foo", "\r\n", "bar" })]
    [TestCase("\t\tfoo", new[] { "\t", "\tfoo" })]
    [TestCase("12345", new[] { "1", "2", "3", "4", "5" })]
    [TestCase("x = 1;\n", new[] { "x", " =", " ", "1", ";\n" })]
    [TestCase("..\n\n\nx", new[] { "..\n\n\n", "x" })]
    [TestCase("$\\frac{a}{b}$", new[] { "$\\", "frac", "{a", "}{", "b", "}$" })]
    [TestCase("a\u00a0b", new[] { "a", "\u00a0b" })]
    [TestCase("", new string[0])]
    public void SplitsAsTheRegex(string text, string[] expected) => Assert.That(Pieces(text), Is.EqualTo(expected));

    /// <summary>Outside the BMP a letter, digit or emoji is one code point, not two surrogates.</summary>
    [TestCase("😀abc", new[] { "😀abc" })]
    [TestCase(" 😀 a", new[] { " 😀", " a" })]
    [TestCase("a𝐱b", new[] { "a𝐱b" })]
    [TestCase("𝟏𝟐", new[] { "𝟏", "𝟐" })]
    [TestCase("𠀀字", new[] { "𠀀字" })]
    public void SupplementaryCharactersAreWholeCodePoints(string text, string[] expected) =>
        Assert.That(Pieces(text), Is.EqualTo(expected));

    /// <summary>
    /// \s is Unicode White_Space (Oniguruma, and so Hugging Face tokenizers): U+0085 is whitespace, U+FEFF is not.
    /// JavaScript's \s (the oracle's) is the other way round, so for texts where that decides the split the oracle
    /// gives different ids; these cases are checked here by hand instead of against it.
    /// </summary>
    [TestCase(".\u0085/usr", new[] { ".", "\u0085", "/usr" })]
    [TestCase("a\u0085\u0085b", new[] { "a", "\u0085", "\u0085b" })]
    [TestCase("a \ufeffb", new[] { "a", " \ufeff", "b" })]
    [TestCase("x\ufeff y", new[] { "x", "\ufeff", " y" })]
    public void WhitespaceIsUnicodeWhiteSpaceAsInOniguruma(string text, string[] expected)
    {
        Assert.That(Pieces(text), Is.EqualTo(expected));
        var tok = TokenizerOracle.Qwen3Tokenizer;
        Assert.That(tok.Decode(tok.Encode(text)), Is.EqualTo(text));
    }

    [Test]
    public void PiecesCoverTheTextWithoutGaps()
    {
        foreach (string text in TokenizerOracle.LoadCorpus())
        {
            int at = 0;
            foreach (var (offset, length) in QwenPreTokenizer.Instance.PreTokenize(text))
            {
                Assert.That(offset, Is.EqualTo(at), text);
                Assert.That(length, Is.GreaterThan(0), text);
                at += length;
            }
            Assert.That(at, Is.EqualTo(text.Length), text);
        }
    }
}
