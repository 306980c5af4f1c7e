using System.Security.Cryptography;
using System.Text;

namespace AdaRas.Evaluation.Benchmarks;

/// <summary>
/// A benchmark's content identity: SHA-256 over every sample's index, id, question, answer and, for code, the
/// EvalPlus problem it is scored against, so a file edited under the same ids (or the same name), or other
/// EvalPlus data, is told apart from the one a run started on.
/// </summary>
internal static class BenchmarkHash
{
    public static string Compute(Benchmark benchmark)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{benchmark.Task}|{benchmark.Count}"));
        foreach (var s in benchmark.Samples)
        {
            // Length-prefixed fields: no choice of text can make two different samples hash alike.
            foreach (var field in new[] { s.Index.ToString(), s.Id, s.Question, s.Answer, s.TaskId, s.EntryPoint, CodeProblemHash(benchmark, s), null })
            {
                var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
                sha.AppendData(BitConverter.GetBytes(field is null ? -1 : bytes.Length));
                sha.AppendData(bytes);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static string? CodeProblemHash(Benchmark benchmark, BenchmarkSample s) =>
        benchmark.Task == BenchmarkTask.Code ? Code.EvalPlusData.Find(s.TaskId)?.ContentHash : null;
}
