using AdaRas.Model;

namespace AdaRas.Evaluation.Benchmarks;

/// <summary>
/// Reads the paper's JSONL format: one object per line with <c>id</c>, <c>question</c>, <c>answer</c> (math),
/// optional <c>is_good</c> (bool or "True"/"False"), and <c>task_id</c>/<c>entry_point</c> (code). Code rows load
/// whatever their task (the MBPP gate splits name tasks MBPP+ dropped, and helpers as entry points: their labels
/// still train a gate); an eval checks them against EvalPlus before running (<see cref="Experiments.ExperimentRunner"/>).
/// Other fields are ignored. Blank lines are skipped; anything else malformed is a
/// <see cref="JsonLinesException"/> naming the file and line.
/// </summary>
internal static class BenchmarkFile
{
    /// <param name="allowDuplicateIds">
    /// The AIME train/validation splits reuse ids across years (9 and 1 clashes); only code that never keys
    /// results by id (gate training) should load such files, and it must say so here.
    /// </param>
    public static Benchmark Load(string path, BenchmarkTask task, string? name = null, bool allowDuplicateIds = false)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: benchmark file not found", full);
        var samples = new List<BenchmarkSample>();
        var firstLineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in JsonLines.Read(full))
        {
            var sample = Parse(line, task, samples.Count);
            if (firstLineOfId.TryGetValue(sample.Id, out var first))
            {
                if (!allowDuplicateIds) throw line.Error($"duplicate id {sample.Id} (first at line {first})");
            }
            else firstLineOfId[sample.Id] = line.Line;
            samples.Add(sample);
        }
        if (samples.Count == 0) throw new JsonLinesException(full, 0, "no samples");
        return new Benchmark(name ?? Path.GetFileNameWithoutExtension(full), task, full, samples);
    }

    static BenchmarkSample Parse(JsonLine line, BenchmarkTask task, int index)
    {
        string id = line.RequiredScalar("id");
        string question = line.RequiredString("question");
        string? answer = line.Scalar("answer");
        string? taskId = line.String("task_id");
        string? entryPoint = line.String("entry_point");
        if (task == BenchmarkTask.Math)
        {
            if (answer is null) throw line.Missing("answer");
        }
        else
        {
            if (entryPoint is null) throw line.Missing("entry_point");
        }
        return new BenchmarkSample(index, id, question, answer, line.Bool("is_good"), taskId, entryPoint, line.Line);
    }
}
