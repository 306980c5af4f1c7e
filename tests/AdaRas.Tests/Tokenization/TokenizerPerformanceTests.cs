using System.Diagnostics;
using System.Text;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

[TestFixture, Category("Performance")]
public class TokenizerPerformanceTests
{
    [Test]
    public void EncodesTenThousandTokensWellUnderASecond()
    {
        var sw = Stopwatch.StartNew();
        var tok = QwenTokenizer.FromFolder(TokenizerOracle.Qwen3Folder);
        double loadMs = sw.Elapsed.TotalMilliseconds;

        // Varied text (corpus strings and random words) so the BPE word cache does not make it trivial.
        var rng = new Random(5);
        string[] corpus = TokenizerOracle.LoadCorpus();
        var sb = new StringBuilder();
        while (sb.Length < 60_000)
        {
            sb.Append(corpus[rng.Next(corpus.Length)]).Append(' ');
            for (int w = 0; w < 8; w++)
            {
                sb.Append(' ');
                for (int c = rng.Next(2, 9); c > 0; c--) sb.Append((char)('a' + rng.Next(26)));
            }
        }
        string text = sb.ToString();

        tok.Encode("warm up the JIT: 你好 😀 x = 1");
        sw.Restart();
        int[] ids = tok.Encode(text);
        double encodeMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        string back = tok.Decode(ids);
        double decodeMs = sw.Elapsed.TotalMilliseconds;

        TestContext.Out.WriteLine($"load {loadMs:F0} ms; encode {ids.Length} tokens ({text.Length} chars) in {encodeMs:F1} ms " +
            $"({ids.Length / encodeMs * 1000:F0} tokens/s); decode in {decodeMs:F1} ms");
        Assert.That(ids.Length, Is.GreaterThanOrEqualTo(10_000));
        Assert.That(back.Length, Is.GreaterThan(text.Length * 9 / 10));
        Assert.That(encodeMs, Is.LessThan(1000), "10k+ tokens should encode well under a second");
    }
}
