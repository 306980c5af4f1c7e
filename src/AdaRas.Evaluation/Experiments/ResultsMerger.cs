using System.Text;
using AdaRas.Model;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Combines the folders of shards 1..n of one run into one folder identical to an unsharded run's:
/// same <c>output.jsonl</c> (records ordered by benchmark index) and <c>summary.json</c>.
/// </summary>
internal static class ResultsMerger
{
    /// <summary>Merges the <c>shard-i-of-n</c> folders found inside <paramref name="runFolder"/> into it.</summary>
    public static ExperimentSummary MergeShardsOf(string runFolder)
    {
        var shards = Directory.Exists(runFolder)
            ? Directory.GetDirectories(runFolder, "shard-*-of-*").Order(StringComparer.Ordinal).ToList()
            : [];
        if (shards.Count == 0) throw new DirectoryNotFoundException($"{runFolder}: no shard-i-of-n folders to merge");
        return Merge(shards, runFolder);
    }

    public static ExperimentSummary Merge(IReadOnlyList<string> shardFolders, string destination)
    {
        if (shardFolders.Count == 0) throw new AdaRas.Files.UsageException("no shard folders given");
        var identities = shardFolders.Select(f => (Folder: f, Id: ResultsFolder.ReadIdentity(f)
            ?? throw new AdaRas.Files.InputException($"{f}: no {ResultsFolder.IdentityFile}; not a results folder"))).ToList();
        var first = identities[0].Id;
        var shards = new List<Shard>();
        foreach (var (folder, id) in identities)
        {
            if (id.Shard is null) throw new AdaRas.Files.InputException($"{folder}: not a shard (run.json has no shard)");
            if (id.ConfigHash != first.ConfigHash || id.Benchmark != first.Benchmark || id.Limit != first.Limit)
                throw new AdaRas.Files.InputException($"{folder}: belongs to a different run than {identities[0].Folder} (config, benchmark or limit differ)");
            shards.Add(Shard.Parse(id.Shard));
        }
        int n = shards[0].Count;
        if (shards.Any(s => s.Count != n)) throw new AdaRas.Files.InputException("shards of different splits (n differs)");
        var missing = Enumerable.Range(1, n).Except(shards.Select(s => s.Index)).ToList();
        if (missing.Count > 0) throw new AdaRas.Files.InputException($"shards {string.Join(", ", missing.Select(i => $"{i}/{n}"))} missing");
        if (shards.Count != n) throw new AdaRas.Files.InputException("a shard was given twice");

        var records = new List<ResultRecord>();
        int planned = 0;
        ExperimentSummary? anySummary = null;
        foreach (var (folder, id) in identities)
        {
            var summary = ResultsFolder.ReadSummary(folder);
            if (!summary.Complete)
                throw new AdaRas.Files.InputException($"{folder}: shard {id.Shard} is incomplete ({summary.Finished} of {summary.Planned}); finish it first");
            var shardRecords = ResultsFolder.ReadRecords(folder);
            if (shardRecords.Count != summary.Finished)
                throw new AdaRas.Files.InputException($"{folder}: {shardRecords.Count} results but the summary says {summary.Finished}");
            records.AddRange(shardRecords);
            planned += summary.Planned;
            anySummary = summary;
        }
        var duplicate = records.GroupBy(r => r.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new AdaRas.Files.InputException($"id {duplicate.Key} appears in more than one shard");
        records.Sort((a, b) => a.Index.CompareTo(b.Index));

        Directory.CreateDirectory(destination);
        var existing = ResultsFolder.ReadIdentity(destination);
        if (File.Exists(Path.Combine(destination, ResultsFolder.OutputFile)))
            throw new IOException($"{destination} already has {ResultsFolder.OutputFile}; refusing to overwrite results");
        if (existing is not null && existing.ConfigHash != first.ConfigHash)
            throw new AdaRas.Files.InputException($"{destination} belongs to a different config");

        ResultsFolder.WriteIdentity(destination, first with { Shard = null });
        var text = new StringBuilder();
        foreach (var r in records) text.Append(ResultsFolder.Serialize(r)).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(destination, ResultsFolder.OutputFile), text.ToString());
        var merged = ResultsFolder.Summarize(anySummary!.Name, first.ConfigHash, first.Benchmark, anySummary.Task, null,
            first.Limit, planned, records);
        ResultsFolder.WriteSummary(destination, merged);
        return merged;
    }
}
