using System.Text.RegularExpressions;

namespace AdaRas.Evaluation.Code;

/// <summary>
/// Prepares a model's final content for EvalPlus's <c>sanitize</c> (which runs in the sandbox, see
/// <c>sandbox_launcher.py</c>): sanitize keeps the longest run of lines that parses as Python, so a fenced
/// block indented inside a list item would not parse at all. Each fenced block is dedented first.
/// </summary>
internal static class CodeExtraction
{
    // A fence line (any indentation), its body, and the closing fence or the end of the text (truncated output).
    static readonly Regex Fence = new(@"^(?<indent>[ \t]*)```(?<info>[^\n`]*)\n(?<code>.*?)(^[ \t]*```[ \t]*$|\z)",
        RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.CultureInvariant);

    public static string DedentFencedBlocks(string content) =>
        Fence.Replace(content.Replace("\r\n", "\n"), m =>
        {
            var closing = m.Value.EndsWith("```", StringComparison.Ordinal) ? "```" : "";
            return "```" + m.Groups["info"].Value + "\n" + Dedent(m.Groups["code"].Value) + closing;
        });

    /// <summary>Removes the longest common leading whitespace of the non-blank lines (Python's textwrap.dedent).</summary>
    public static string Dedent(string code)
    {
        var lines = code.Split('\n');
        string? common = null;
        foreach (var line in lines)
        {
            if (line.Trim().Length == 0) continue;
            var indent = line[..(line.Length - line.TrimStart(' ', '\t').Length)];
            if (common is null) { common = indent; continue; }
            int k = 0;
            while (k < common.Length && k < indent.Length && common[k] == indent[k]) k++;
            common = common[..k];
        }
        if (string.IsNullOrEmpty(common)) return code;
        return string.Join('\n', lines.Select(l => l.StartsWith(common, StringComparison.Ordinal) ? l[common.Length..] : l.Trim().Length == 0 ? "" : l));
    }
}
