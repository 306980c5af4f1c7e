namespace AdaRas.Evaluation.Answers;

/// <summary>Finds the last <c>\boxed{...}</c> (or <c>\fbox{...}</c>, or <c>\boxed 5</c>) in a text.</summary>
internal static class BoxedAnswer
{
    static readonly string[] Commands = ["\\boxed", "\\fbox"];

    /// <summary>
    /// The content of the last complete box, braces balanced; null when there is none (an unclosed
    /// <c>\boxed{</c> of a truncated output is skipped in favour of an earlier complete one).
    /// </summary>
    public static string? ExtractLast(string text)
    {
        int searchEnd = text.Length;
        while (true)
        {
            int start = -1, commandLength = 0;
            foreach (var command in Commands)
            {
                int i = searchEnd <= 0 ? -1 : text.LastIndexOf(command, searchEnd - 1, StringComparison.Ordinal);
                if (i > start) { start = i; commandLength = command.Length; }
            }
            if (start < 0) return null;
            var content = ReadArgument(text, start + commandLength);
            if (!string.IsNullOrWhiteSpace(content)) return content.Trim();
            searchEnd = start;
        }
    }

    /// <summary>
    /// The argument after a box command at <paramref name="pos"/>: a balanced <c>{...}</c> group, or (after a
    /// space) one token: up to the next space, <c>$</c>, <c>\]</c> or <c>\)</c>, without trailing punctuation
    /// (<c>\boxed 5 apples</c> is 5). Null for anything else (e.g. <c>\boxedfoo</c>).
    /// </summary>
    static string? ReadArgument(string text, int pos)
    {
        int i = pos;
        while (i < text.Length && text[i] is ' ' or '\t') i++;
        if (i >= text.Length) return null;
        if (text[i] == '{') return BalancedGroup(text, i, out _);
        if (i == pos && char.IsLetter(text[i])) return null; // "\boxedfoo" is another command
        int end = i;
        while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] != '$'
               && !(text[end] == '\\' && end + 1 < text.Length && text[end + 1] is ']' or ')'))
            end++;
        return text[i..end].TrimEnd('.', ',', ';', ':');
    }

    /// <summary>Content of the brace group opening at <paramref name="open"/>; null if never closed.</summary>
    internal static string? BalancedGroup(string text, int open, out int closeIndex)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\') { i++; continue; } // a backslash takes the next character with it: \{ \} \\
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) { closeIndex = i; return text[(open + 1)..i]; }
        }
        closeIndex = -1;
        return null;
    }
}
