using System.Globalization;
using System.Security.Cryptography;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Files;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Answers produced elsewhere (the paper's output files, another runtime, a server), scored by
/// <c>adaras eval --answers</c> with the same checkers, resumability and report as generated ones.
/// The file is JSONL, one <c>{"id": ..., "output": "..."}</c> per answer (id a string or number, output the whole
/// generated text, thinking included); optional <c>tokens</c> (integer) and <c>seconds</c> (number) are kept, other
/// fields are ignored. Every id must be one of the benchmark's and appear once, and every sample the run covers
/// must have an answer; anything else is an error naming the file and line.
/// </summary>
internal sealed class ImportedAnswers : IAnswerSource
{
    readonly Dictionary<string, (string Output, int Tokens, double Seconds)> _answers;

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>SHA-256 of the file's bytes: a resumed run refuses a file that changed.</summary>
    public string Hash { get; }

    public int Count => _answers.Count;

    ImportedAnswers(string path, string hash, Dictionary<string, (string, int, double)> answers)
    {
        Path = path;
        Hash = hash;
        _answers = answers;
    }

    /// <summary>Reads and checks the file against <paramref name="benchmark"/> and the samples the run will score.</summary>
    public static ImportedAnswers Load(string path, Benchmark benchmark, IEnumerable<BenchmarkSample> planned)
    {
        var full = System.IO.Path.GetFullPath(path);
        var known = benchmark.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var answers = new Dictionary<string, (string, int, double)>(StringComparer.Ordinal);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in JsonLines.Read(full))
        {
            var id = line.RequiredScalar("id");
            var output = line.RequiredString("output");
            if (!known.Contains(id))
                throw line.Error($"id {id} is not a sample of benchmark {benchmark.Name} (its ids look like {string.Join(", ", benchmark.Samples.Take(3).Select(s => s.Id))})");
            if (lines.TryGetValue(id, out var first)) throw line.Error($"duplicate id {id} (first at line {first})");
            int tokens = 0;
            double seconds = 0;
            if (line.Row.TryGetProperty("tokens", out var t) && t.ValueKind != System.Text.Json.JsonValueKind.Null)
                tokens = t.ValueKind == System.Text.Json.JsonValueKind.Number && t.TryGetInt32(out var n) && n >= 0
                    ? n : throw line.Error($"field 'tokens' must be a non-negative integer, found {t.GetRawText()}");
            if (line.Row.TryGetProperty("seconds", out var sec) && sec.ValueKind != System.Text.Json.JsonValueKind.Null)
                seconds = sec.ValueKind == System.Text.Json.JsonValueKind.Number && sec.TryGetDouble(out var d) && double.IsFinite(d) && d >= 0
                    ? d : throw line.Error($"field 'seconds' must be a non-negative number, found {sec.GetRawText()}");
            lines[id] = line.Line;
            answers[id] = (output, tokens, seconds);
        }
        if (answers.Count == 0) throw new JsonLinesException(full, 0, "no answers");
        var missing = planned.Where(s => !answers.ContainsKey(s.Id)).Select(s => s.Id).ToList();
        if (missing.Count > 0)
            throw new JsonLinesException(full, 0,
                $"no answer for {missing.Count} of the run's samples (ids {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}); use --limit or --shard to score part of a benchmark");
        string hash;
        using (var stream = File.OpenRead(full)) hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new ImportedAnswers(full, hash, answers);
    }

    public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
    {
        var (output, tokens, seconds) = _answers.TryGetValue(sample.Id, out var a)
            ? a : throw new InvalidOperationException($"{Path}: no answer for id {sample.Id}");
        return new SampleAnswer(output, tokens, seconds);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count} answers from {Path}");
}
