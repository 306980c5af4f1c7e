using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AdaRas.Model;

namespace AdaRas.Evaluation.Code;

internal enum EvalPlusDataset { HumanEval, Mbpp }

/// <summary>
/// One EvalPlus problem: the canonical solution (<c>prompt + canonical_solution</c>, as EvalPlus runs it) and
/// the base and extended ("plus") inputs, kept as their JSON text (Python's JSON: <c>Infinity</c> allowed).
/// </summary>
internal sealed record EvalPlusProblem(string TaskId, EvalPlusDataset Dataset, string Prompt, string CanonicalSolution,
    string EntryPoint, string BaseInputsJson, string PlusInputsJson, double Atol, int BaseCount, int PlusCount, string ContentHash)
{
    public string CanonicalProgram => Prompt + CanonicalSolution;

    /// <summary>MBPP+ tasks whose outputs are only compared as "not None" (EvalPlus's MBPP_OUTPUT_NOT_NONE_TASKS).</summary>
    public bool OutputNotNone => Dataset == EvalPlusDataset.Mbpp && EntryPoint is "check_str" or "text_match_three" or "text_starta_endb";
}

/// <summary>
/// The shipped EvalPlus data (<c>data/evalplus/</c> beside the build): HumanEval+ v0.1.10 and MBPP+ 767efcc,
/// Apache-2.0.
/// </summary>
internal static class EvalPlusData
{
    public const string HumanEvalFile = "HumanEvalPlus-v0.1.10.jsonl.gz";
    public const string MbppFile = "MbppPlus-767efcc.jsonl.gz";

    static readonly Lazy<IReadOnlyDictionary<string, EvalPlusProblem>> HumanEval = new(() => Load(Path.Combine(Directory, HumanEvalFile), EvalPlusDataset.HumanEval));
    static readonly Lazy<IReadOnlyDictionary<string, EvalPlusProblem>> Mbpp = new(() => Load(Path.Combine(Directory, MbppFile), EvalPlusDataset.Mbpp));

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "evalplus");

    public static IReadOnlyDictionary<string, EvalPlusProblem> HumanEvalPlus => HumanEval.Value;
    public static IReadOnlyDictionary<string, EvalPlusProblem> MbppPlus => Mbpp.Value;

    /// <summary>The problem for a task id such as <c>HumanEval/0</c> or <c>Mbpp/2</c>; null when EvalPlus has none.</summary>
    public static EvalPlusProblem? Find(string? taskId) =>
        taskId is null ? null
        : taskId.StartsWith("HumanEval/", StringComparison.Ordinal) ? HumanEval.Value.GetValueOrDefault(taskId)
        : taskId.StartsWith("Mbpp/", StringComparison.Ordinal) ? Mbpp.Value.GetValueOrDefault(taskId)
        : null;

    const string NonFinite = "\\u0000nonfinite:";

    internal static IReadOnlyDictionary<string, EvalPlusProblem> Load(string path, EvalPlusDataset dataset)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: EvalPlus data not found", path);
        var result = new Dictionary<string, EvalPlusProblem>(StringComparer.Ordinal);
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(QuoteNonFinite(line));
                var r = doc.RootElement;
                string Text(string name) => r.GetProperty(name).GetString() ?? throw new InvalidDataException($"'{name}' is null");
                var atol = r.GetProperty("atol");
                // MBPP+ 767efcc has one problem (Mbpp/793) whose plus_input is {}: EvalPlus iterates it as no inputs.
                (string Json, int Count) Inputs(string name) => r.GetProperty(name) switch
                {
                    { ValueKind: JsonValueKind.Array } a => (Restore(a.GetRawText()), a.GetArrayLength()),
                    { ValueKind: JsonValueKind.Object } o when !o.EnumerateObject().Any() => ("[]", 0),
                    _ => throw new InvalidDataException($"'{name}' is not a list"),
                };
                var (baseJson, baseCount) = Inputs("base_input");
                var (plusJson, plusCount) = Inputs("plus_input");
                var problem = new EvalPlusProblem(Text("task_id"), dataset, Text("prompt"), Text("canonical_solution"), Text("entry_point"),
                    baseJson, plusJson,
                    atol.ValueKind == JsonValueKind.String ? double.Parse(atol.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : atol.GetDouble(),
                    baseCount, plusCount,
                    Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(line))));
                result[problem.TaskId] = problem;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException or FormatException)
            {
                throw new JsonLinesException(path, lineNumber, $"bad EvalPlus row ({e.Message})");
            }
        }
        return result;
    }

    /// <summary>Python's json writes NaN and ±Infinity as bare words, which .NET's parser refuses: quote them
    /// (outside strings) with a marker that <see cref="Restore"/> turns back.</summary>
    static string QuoteNonFinite(string line)
    {
        if (!line.Contains("Infinity", StringComparison.Ordinal) && !line.Contains("NaN", StringComparison.Ordinal)) return line;
        var sb = new StringBuilder(line.Length + 64);
        bool inString = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < line.Length) sb.Append(line[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') { inString = true; sb.Append(c); continue; }
            foreach (var word in new[] { "-Infinity", "Infinity", "NaN" })
                if (string.CompareOrdinal(line, i, word, 0, word.Length) == 0)
                {
                    sb.Append('"').Append(NonFinite).Append(word).Append('"');
                    i += word.Length;
                    c = '\0';
                    break;
                }
            if (c == '\0') { i--; continue; }
            sb.Append(c);
        }
        return sb.ToString();
    }

    static string Restore(string json)
    {
        foreach (var word in new[] { "-Infinity", "Infinity", "NaN" })
            json = json.Replace("\"" + NonFinite + word + "\"", word, StringComparison.Ordinal);
        return json;
    }
}
