using System.Buffers;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// Cuts the added tokens out of raw text, before normalization (as Hugging Face tokenizers does for tokens with
/// "normalized": false): scanning left to right, at each position the longest added token that starts there wins.
/// </summary>
internal sealed class AddedTokenSplitter
{
    readonly SearchValues<char> _firstChars;
    readonly Dictionary<char, (string Text, int Id)[]> _byFirstChar; // longest first

    public AddedTokenSplitter(IReadOnlyDictionary<string, int> tokens)
    {
        _byFirstChar = tokens
            .GroupBy(t => t.Key[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Key.Length).Select(t => (t.Key, t.Value)).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>Consecutive pieces covering <paramref name="text"/>: added tokens (AddedId &gt;= 0) and plain text (-1).</summary>
    public List<(int Offset, int Length, int AddedId)> Split(string text)
    {
        var pieces = new List<(int, int, int)>();
        int plainStart = 0, i = 0;
        while (i < text.Length)
        {
            int hit = text.AsSpan(i).IndexOfAny(_firstChars);
            if (hit < 0) break;
            i += hit;
            var match = Match(text, i);
            if (match is { } m)
            {
                if (i > plainStart) pieces.Add((plainStart, i - plainStart, -1));
                pieces.Add((i, m.Text.Length, m.Id));
                i += m.Text.Length;
                plainStart = i;
            }
            else i++;
        }
        if (text.Length > plainStart) pieces.Add((plainStart, text.Length - plainStart, -1));
        return pieces;
    }

    (string Text, int Id)? Match(string text, int at)
    {
        foreach (var candidate in _byFirstChar[text[at]])
        {
            if (text.AsSpan(at).StartsWith(candidate.Text, StringComparison.Ordinal)) return candidate;
        }
        return null;
    }
}
