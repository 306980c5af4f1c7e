using System.Text;
using Microsoft.ML.Tokenizers;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// Qwen2/Qwen3's pre-tokenizer: splits text into the pieces that BPE then encodes one by one. It is the regex
/// <see cref="Pattern"/> (a "Split" pre-tokenizer with behavior "Isolated" in tokenizer.json), evaluated exactly,
/// one code point at a time.
/// </summary>
/// <remarks>
/// Why not <see cref="System.Text.RegularExpressions.Regex"/> with the pattern: .NET regexes see UTF-16 code units,
/// so a letter or digit outside the BMP (𝐱, 𝟏, many CJK extension ideographs) is two surrogates of category Cs
/// there, not \p{L} / \p{N}; and in "😀abc" the optional leading [^\r\n\p{L}\p{N}] takes only half of the emoji.
/// Hugging Face's engine (Oniguruma) works on code points. \s is Unicode White_Space (as in Oniguruma and .NET:
/// U+0085 counts, U+FEFF does not). Case-insensitive contractions match ASCII letters only.
/// The alternatives below are numbered as in the pattern and tried in its order; each comment says what the
/// regex engine's backtracking reduces to.
/// </remarks>
internal sealed class QwenPreTokenizer : PreTokenizer
{
    /// <summary>The pre-tokenizer regex of Qwen2, Qwen2.5 and Qwen3 tokenizer.json files.</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static QwenPreTokenizer Instance { get; } = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>(text.Length / 3 + 1);
        for (int i = 0; i < text.Length;)
        {
            int length = MatchAt(text, i);
            pieces.Add((i, length));
            i += length;
        }
        return pieces;
    }

    enum Kind { Letter, Number, Newline, Space, Other }

    static Kind KindAt(ReadOnlySpan<char> s, int i, out int width)
    {
        // A lone surrogate decodes as U+FFFD (category So): "Other", as in a code-point regex engine.
        Rune.DecodeFromUtf16(s[i..], out Rune r, out width);
        if (r.Value is '\r' or '\n') return Kind.Newline;
        if (Rune.IsLetter(r)) return Kind.Letter;
        if (Rune.IsNumber(r)) return Kind.Number;
        if (Rune.IsWhiteSpace(r)) return Kind.Space;
        return Kind.Other;
    }

    /// <summary>Length (UTF-16 units) of the pattern's match at <paramref name="i"/>; always at least one character.</summary>
    static int MatchAt(ReadOnlySpan<char> s, int i)
    {
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (s[i] == '\'' && i + 1 < s.Length)
        {
            char a = char.ToLowerInvariant(s[i + 1]);
            if (a is 's' or 't' or 'm' or 'd' && char.IsAscii(s[i + 1])) return 2;
            if (i + 2 < s.Length && char.IsAscii(s[i + 1]) && char.IsAscii(s[i + 2]))
            {
                char b = char.ToLowerInvariant(s[i + 2]);
                if ((a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l')) return 3;
            }
        }

        Kind first = KindAt(s, i, out int w0);
        int next = i + w0;

        // 2. [^\r\n\p{L}\p{N}]?\p{L}+ : one optional non-letter, non-digit, non-newline, then a run of letters.
        if (first is Kind.Space or Kind.Other && next < s.Length && KindAt(s, next, out _) == Kind.Letter)
            return RunEnd(s, next, Kind.Letter) - i;
        if (first == Kind.Letter)
            return RunEnd(s, i, Kind.Letter) - i;

        // 3. \p{N} : a single digit (numbers are split digit by digit).
        if (first == Kind.Number) return w0;

        // 4.  ?[^\s\p{L}\p{N}]+[\r\n]* : optional ASCII space, a run of "other" characters, trailing newlines.
        int start = i;
        if (s[i] == ' ' && next < s.Length && KindAt(s, next, out _) == Kind.Other) start = next;
        else if (first != Kind.Other) start = -1;
        if (start >= 0)
        {
            int end = RunEnd(s, start, Kind.Other);
            while (end < s.Length && s[end] is '\r' or '\n') end++;
            return end - i;
        }

        // From here the character is whitespace (Space or Newline). Find the whole whitespace run.
        int wsEnd = i;
        int lastNewline = -1;
        while (wsEnd < s.Length)
        {
            Kind k = KindAt(s, wsEnd, out int w);
            if (k == Kind.Newline) lastNewline = wsEnd;
            else if (k != Kind.Space) break;
            wsEnd += w;
        }

        // 5. \s*[\r\n]+ : whitespace up to and including the run's last newline.
        if (lastNewline >= 0) return lastNewline + 1 - i;

        // 6. \s+(?!\S) : the whole run at the end of text, else all of it but the last character (which then
        //    joins the following word as its leading space). Every White_Space character is in the BMP.
        if (wsEnd == s.Length) return wsEnd - i;
        if (wsEnd - 1 > i) return wsEnd - 1 - i;

        // 7. \s+ : a single whitespace character before a non-space.
        return wsEnd - i;
    }

    static int RunEnd(ReadOnlySpan<char> s, int i, Kind kind)
    {
        while (i < s.Length && KindAt(s, i, out int w) == kind) i += w;
        return i;
    }
}
