using System.Text.RegularExpressions;
using AdaRas.Evaluation.Answers;

namespace AdaRas.Evaluation.Code;

/// <summary>Finds the program in a model's answer (after <c>&lt;/think&gt;</c>, see <see cref="ModelOutput"/>).</summary>
internal static class CodeExtraction
{
    // An unclosed fence (truncated output) runs to the end of the text.
    static readonly Regex Fence = new(@"```[ \t]*(?<lang>[A-Za-z0-9_+.-]*)[^\n]*\n(?<code>.*?)(```|\z)",
        RegexOptions.Singleline | RegexOptions.CultureInvariant);
    static readonly string[] PythonLanguages = ["", "python", "py", "python3", "py3"];

    /// <summary>
    /// The solution: of the fenced Python (or unlabelled) blocks, the last one that defines
    /// <paramref name="entryPoint"/>, else the last one that defines any function or class (a later block is
    /// often just usage or the test), else the last one. With no fences, the top-level <c>import</c>,
    /// <c>def</c>, <c>class</c> and decorator blocks of the text, if it defines something. Null if none.
    /// (The paper's <c>extract_code</c> is the first fenced block, which is often an explanatory fragment;
    /// some MBPP splits also name a helper as entry point, e.g. Mbpp/630 'adjac' for get_coordinates.)
    /// </summary>
    public static string? ExtractSolution(string modelText, string? entryPoint, bool unfinishedThoughtCounts = false)
    {
        var content = ModelOutput.FinalContent(modelText, unfinishedThoughtCounts);
        var blocks = Fence.Matches(content)
            .Where(m => PythonLanguages.Contains(m.Groups["lang"].Value.ToLowerInvariant()))
            .Select(m => m.Groups["code"].Value)
            .Where(code => !string.IsNullOrWhiteSpace(code))
            .ToList();
        if (blocks.Count > 0)
        {
            var chosen = (entryPoint is null ? null : blocks.LastOrDefault(b => Defines(b, entryPoint)))
                ?? blocks.LastOrDefault(DefinesAnything) ?? blocks[^1];
            return chosen.TrimEnd() + "\n";
        }
        bool hasCode = entryPoint is not null && Defines(content, entryPoint) || DefinesAnything(content);
        return hasCode ? TopLevelCode(content) : null;
    }

    public static bool Defines(string code, string entryPoint) =>
        Regex.IsMatch(code, @"^[ \t]*(async[ \t]+)?def[ \t]+" + Regex.Escape(entryPoint) + @"[ \t]*\(", RegexOptions.Multiline);

    static bool DefinesAnything(string code) =>
        Regex.IsMatch(code, @"^[ \t]*((async[ \t]+)?def|class)[ \t]+\w+", RegexOptions.Multiline);

    /// <summary>Keeps top-level code blocks (imports, defs, classes, decorators and their indented bodies), drops prose.</summary>
    static string TopLevelCode(string text)
    {
        var kept = new List<string>();
        bool inBlock = false;
        foreach (var line in text.Replace("\r\n", "\n").Split('\n'))
        {
            bool indented = line.Length > 0 && line[0] is ' ' or '\t';
            if (indented || line.Trim().Length == 0)
            {
                if (inBlock) kept.Add(line);
                continue;
            }
            inBlock = Regex.IsMatch(line, @"^(import |from \S+ import |def |async def |class |@)");
            if (inBlock) kept.Add(line);
        }
        return string.Join("\n", kept).Trim('\n') + "\n";
    }
}
