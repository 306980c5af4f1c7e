using System.Collections.Frozen;
using System.Text;
using AdaRas.Model;
using Microsoft.ML.Tokenizers;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// Qwen's byte-level BPE tokenizer, read from a Hugging Face <c>tokenizer.json</c>. Encodes as Hugging Face
/// tokenizers does: added tokens (<c>&lt;|im_start|&gt;</c>, <c>&lt;think&gt;</c>, ...) are cut out of the raw text
/// first and map to their ids; every other stretch is NFC-normalized, split by Qwen's pre-tokenizer regex and
/// BPE-encoded (Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>). Nothing is added around the text (no BOS).
/// Immutable and safe to share between threads; a <see cref="TokenizerStream"/> is per sequence.
/// </summary>
public sealed class QwenTokenizer
{
    readonly BpeTokenizer _bpe;
    readonly AddedTokenSplitter _splitter;
    readonly FrozenDictionary<string, int> _vocab;
    readonly string?[] _idToToken;
    readonly byte[]?[] _idToBytes;
    readonly bool[] _isSpecial;

    /// <summary>The file this tokenizer was read from.</summary>
    public string FilePath { get; }

    /// <summary>
    /// One more than the highest id the tokenizer knows (Qwen3: 151669). A model's vocab_size is often padded
    /// beyond it (Qwen3: 151936); <see cref="Decode"/> turns such ids into empty text.
    /// </summary>
    public int VocabCount { get; }

    /// <summary>
    /// Every added token ("added_tokens" in tokenizer.json) by its text: <c>&lt;|im_start|&gt;</c>, <c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;think&gt;</c>, <c>&lt;/think&gt;</c>, ... Encode keeps each whole wherever its text appears.
    /// </summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    QwenTokenizer(string path, TokenizerJson json)
    {
        FilePath = path;
        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(json.Vocab)
            {
                Merges = json.Merges,
                ByteLevel = true,
                PreTokenizer = QwenPreTokenizer.Instance,
                Normalizer = json.Nfc ? NfcNormalizer.Instance : null,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new ModelFormatException(path, $"the BPE model could not be built: {e.Message}", inner: e);
        }

        var all = new Dictionary<string, int>(json.Vocab, StringComparer.Ordinal);
        foreach (var t in json.AddedTokens) all[t.Content] = t.Id;
        _vocab = all.ToFrozenDictionary(StringComparer.Ordinal);
        SpecialTokens = json.AddedTokens.ToFrozenDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        _splitter = new AddedTokenSplitter(SpecialTokens);

        VocabCount = all.Values.Max() + 1;
        _idToToken = new string?[VocabCount];
        _idToBytes = new byte[]?[VocabCount];
        _isSpecial = new bool[VocabCount];
        foreach (var (token, id) in json.Vocab)
        {
            _idToToken[id] = token;
            _idToBytes[id] = ByteLevelAlphabet.TokenBytes(token);
        }
        foreach (var t in json.AddedTokens)
        {
            // An added token decodes to its own text (not through the byte-level alphabet).
            _idToToken[t.Id] = t.Content;
            _idToBytes[t.Id] = Encoding.UTF8.GetBytes(t.Content);
            _isSpecial[t.Id] = t.Special;
        }
    }

    /// <summary>Reads <c>tokenizer.json</c> from a model folder (a checkpoint or an exported model).</summary>
    /// <exception cref="ModelFormatException">The folder or file is missing, or the file is malformed or unsupported.</exception>
    public static QwenTokenizer FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "model folder not found");
        return FromFile(Path.Combine(folder, Checkpoint.TokenizerFile));
    }

    /// <summary>Reads a Hugging Face <c>tokenizer.json</c> file.</summary>
    /// <exception cref="ModelFormatException">The file is missing, malformed, or asks for something unsupported.</exception>
    public static QwenTokenizer FromFile(string tokenizerJsonPath)
    {
        string path = Path.GetFullPath(tokenizerJsonPath);
        return new QwenTokenizer(path, TokenizerJson.Load(path));
    }

    /// <summary>Token ids of <paramref name="text"/>; the literal text of an added token becomes its id.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (offset, length, addedId) in _splitter.Split(text))
        {
            if (addedId >= 0) ids.Add(addedId);
            else ids.AddRange(_bpe.EncodeToIds(text.AsSpan(offset, length), considerPreTokenization: true, considerNormalization: true));
        }
        return ids.ToArray();
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. Invalid UTF-8 (a sequence cut inside a character) becomes U+FFFD.
    /// Ids the tokenizer lacks (beyond <see cref="VocabCount"/>, from a padded model vocabulary) decode to nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id (no model emits one: a caller bug).</exception>
    /// <param name="skipSpecialTokens">Leave out added tokens marked "special" in tokenizer.json
    /// (<c>&lt;|im_end|&gt;</c>, <c>&lt;|endoftext|&gt;</c>, ...); <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c> are not special and stay.</param>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            if (BytesOf(id, skipSpecialTokens) is { } b) bytes.AddRange(b);
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>A decoder for tokens arriving one at a time (see <see cref="TokenizerStream"/>).</summary>
    public TokenizerStream CreateStream(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    /// <summary>The id of a vocabulary token (in byte-level form, e.g. "Ġhello") or of an added token; null if none.</summary>
    public int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>The vocabulary token (byte-level form) or added token of an id; null for ids the tokenizer lacks.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether an id is an added token marked "special" (the ones <c>skipSpecialTokens</c> leaves out).</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    /// <summary>The UTF-8 bytes an id stands for; null when it stands for nothing (unknown, or skipped special).</summary>
    internal byte[]? BytesOf(int id, bool skipSpecialTokens)
    {
        if (id < 0) throw new ArgumentOutOfRangeException(nameof(id), id, "token ids are non-negative");
        if (id >= _idToBytes.Length) return null;
        if (skipSpecialTokens && _isSpecial[id]) return null;
        return _idToBytes[id];
    }
}
