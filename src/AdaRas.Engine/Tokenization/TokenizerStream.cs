using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// Decodes a sequence one token at a time, as a generator produces it. A token may end inside a UTF-8 character
/// (byte-level BPE splits emoji and CJK characters across tokens); those bytes are held back until the character
/// is complete, so the concatenation of all <see cref="Decode"/> results plus <see cref="Flush"/> equals
/// <see cref="QwenTokenizer.Decode"/> of the whole sequence. One stream per sequence; not thread-safe.
/// </summary>
public sealed class TokenizerStream
{
    readonly QwenTokenizer _tokenizer;
    readonly bool _skipSpecialTokens;
    byte[] _pending = new byte[16];
    int _pendingCount;

    internal TokenizerStream(QwenTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>The text completed by <paramref name="id"/>: empty while a character is still incomplete.</summary>
    public string Decode(int id)
    {
        if (_tokenizer.BytesOf(id, _skipSpecialTokens) is not { Length: > 0 } bytes) return "";
        if (_pendingCount + bytes.Length > _pending.Length)
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingCount + bytes.Length));
        bytes.CopyTo(_pending, _pendingCount);
        _pendingCount += bytes.Length;
        return Drain(isFinal: false);
    }

    /// <summary>Ends the sequence: held-back bytes of an unfinished character come out as U+FFFD.</summary>
    public string Flush() => Drain(isFinal: true);

    string Drain(bool isFinal)
    {
        if (_pendingCount == 0) return "";
        var chars = new char[_pendingCount + 1];
        // Invalid bytes become U+FFFD; an incomplete sequence at the end stays pending unless this is the end.
        var status = Utf8.ToUtf16(_pending.AsSpan(0, _pendingCount), chars, out int read, out int written,
            replaceInvalidSequences: true, isFinalBlock: isFinal);
        if (status is not (OperationStatus.Done or OperationStatus.NeedMoreData))
            throw new InvalidOperationException($"UTF-8 decoding stopped with {status}");
        _pending.AsSpan(read, _pendingCount - read).CopyTo(_pending);
        _pendingCount -= read;
        return new string(chars, 0, written);
    }
}
