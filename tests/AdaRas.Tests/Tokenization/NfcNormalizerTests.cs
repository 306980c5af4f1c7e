using System.Globalization;
using System.IO.Compression;
using System.Text;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

/// <summary>The managed NFC against Unicode's own conformance file (NormalizationTest.txt, Unicode 15.0).</summary>
[TestFixture]
public class NfcNormalizerTests
{
    static string Nfc(string s) => NfcNormalizer.Instance.Normalize(s);

    static string Field(string hexList) =>
        string.Concat(hexList.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));

    [Test]
    public void PassesUnicodeNormalizationConformanceTest()
    {
        string path = Path.Combine(TokenizerOracle.DataFolder, "NormalizationTest.txt.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress), Encoding.UTF8);
        int lines = 0;
        var failures = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '@') continue;
            string[] c = line.Split(';').Take(5).Select(Field).ToArray();
            lines++;
            // NFC column: c2 == toNFC(c1) == toNFC(c2) == toNFC(c3); c4 == toNFC(c4) == toNFC(c5).
            if (Nfc(c[0]) != c[1] || Nfc(c[1]) != c[1] || Nfc(c[2]) != c[1] || Nfc(c[3]) != c[3] || Nfc(c[4]) != c[3])
                failures.Add(line);
        }
        Assert.That(lines, Is.GreaterThan(18_000));
        Assert.That(failures, Is.Empty, $"{failures.Count} lines fail, e.g.\n" + string.Join("\n", failures.Take(10)));
    }

    [TestCase("e\u0301", "\u00e9")]
    [TestCase("\u212b", "\u00c5")]
    [TestCase("\u1100\u1161\u11a8", "\uac01")]
    [TestCase("q\u0307\u0323", "q\u0323\u0307")]
    [TestCase("\u0301a", "\u0301a")]
    [TestCase("plain ASCII stays", "plain ASCII stays")]
    [TestCase("中文 😀 한국어", "中文 😀 한국어")]
    public void KnownCases(string input, string expected) => Assert.That(Nfc(input), Is.EqualTo(expected));

    [Test]
    public void LoneSurrogatesPassThrough() => Assert.That(Nfc("a\ud800e\u0301"), Is.EqualTo("a\ud800\u00e9"));
}
