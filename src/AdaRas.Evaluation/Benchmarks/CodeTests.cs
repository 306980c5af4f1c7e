using AdaRas.Model;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Benchmarks;

/// <summary>
/// Finds the tests of a code question. The paper's HumanEval split carries no test code: it is joined by
/// <c>task_id</c> with the original HumanEval file shipped beside it (MIT). The MBPP file carries no test
/// code either: its only tests are the <c>assert</c> lines quoted in the question, and those are what run.
/// </summary>
internal static class CodeTests
{
    static readonly Lazy<IReadOnlyDictionary<string, HumanEvalProblem>> HumanEval = new(() => LoadHumanEval(HumanEvalPath));

    /// <summary>The shipped original HumanEval (164 problems with tests).</summary>
    public static string HumanEvalPath => Path.Combine(BenchmarkCatalog.DataDirectory, "benchmarks", "HumanEval", "HumanEval.jsonl.gz");

    public sealed record HumanEvalProblem(string TaskId, string Prompt, string EntryPoint, string Test);

    internal static CodeTest Resolve(string file, int line, string question, string? taskId, string entryPoint, string? test)
    {
        if (test is not null) return HumanEvalStyle(question, test, entryPoint);
        if (taskId is not null && taskId.StartsWith("HumanEval/", StringComparison.Ordinal))
        {
            if (!HumanEval.Value.TryGetValue(taskId, out var problem))
                throw new JsonLinesException(file, line, $"task_id {taskId} is not in {HumanEvalPath}");
            if (problem.EntryPoint != entryPoint)
                throw new JsonLinesException(file, line,
                    $"entry_point '{entryPoint}' differs from HumanEval's '{problem.EntryPoint}' for {taskId}");
            return HumanEvalStyle(question, problem.Test, entryPoint);
        }
        var asserts = AssertsInText(question);
        if (asserts.Count == 0)
            throw new JsonLinesException(file, line, "code question has no 'test' field, no known task_id and no assert lines");
        // MBPP's asserts use math.isclose without importing math.
        return new CodeTest("", "import math\n\n" + string.Join("\n", asserts) + "\n");
    }

    static CodeTest HumanEvalStyle(string prompt, string test, string entryPoint) =>
        new(prompt, test.Contains("def check(", StringComparison.Ordinal) ? $"{test}\n\ncheck({entryPoint})\n" : test + "\n");

    /// <summary>
    /// The <c>assert</c> statements written in a question, each with its continuation lines while brackets
    /// are open.
    /// </summary>
    public static IReadOnlyList<string> AssertsInText(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var result = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].Trim();
            if (!trimmed.StartsWith("assert ", StringComparison.Ordinal) && !trimmed.StartsWith("assert(", StringComparison.Ordinal)) continue;
            var statement = new StringBuilder(trimmed);
            int depth = BracketDepth(trimmed);
            while (depth > 0 && i + 1 < lines.Length && !lines[i + 1].Trim().StartsWith("\"\"\"", StringComparison.Ordinal))
            {
                i++;
                statement.Append('\n').Append(lines[i]);
                depth += BracketDepth(lines[i]);
            }
            result.Add(statement.ToString());
        }
        return result;
    }

    static int BracketDepth(string s)
    {
        int depth = 0;
        char quote = '\0';
        foreach (var c in s)
        {
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            if (c is '"' or '\'') quote = c;
            else if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
        }
        return depth;
    }

    static IReadOnlyDictionary<string, HumanEvalProblem> LoadHumanEval(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: HumanEval test file not found", path);
        var result = new Dictionary<string, HumanEvalProblem>(StringComparer.Ordinal);
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                var p = new HumanEvalProblem(r.GetProperty("task_id").GetString()!, r.GetProperty("prompt").GetString()!,
                    r.GetProperty("entry_point").GetString()!, r.GetProperty("test").GetString()!);
                result[p.TaskId] = p;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new JsonLinesException(path, lineNumber, $"bad HumanEval row ({e.Message})");
            }
        }
        return result;
    }

    /// <summary>All problems of the shipped original HumanEval, by task_id.</summary>
    public static IReadOnlyDictionary<string, HumanEvalProblem> HumanEvalProblems => HumanEval.Value;
}
