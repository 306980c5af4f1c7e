using AdaRas.Export;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// export must never delete what it reads or what it did not write: an output equal to or containing the checkpoint
/// is refused, and --force replaces only a folder that is itself an export. Temporary folders of cancelled or
/// killed exports do not pile up, and several processes first-using one checkpoint share one cache entry.
/// </summary>
[TestFixture]
public sealed class ExportSafetyTests
{
    static string Checkpoint() => TestCheckpoints.CopyOf(CheckpointShapes.Tiny);

    static void AssertIntactCheckpoint(string folder)
    {
        Assert.That(File.Exists(Path.Combine(folder, "config.json")), Is.True, $"{folder} lost its config.json");
        Assert.That(File.Exists(Path.Combine(folder, "model.safetensors")), Is.True, $"{folder} lost its weights");
    }

    [Test]
    public void OutputEqualToTheCheckpoint_IsRefusedEvenWithForce()
    {
        var ckpt = Checkpoint();
        var run = CliRunner.Run("export", ckpt, "--out", ckpt, "--force");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.StartWith("error: ").And.Contain("checkpoint itself"));
        AssertIntactCheckpoint(ckpt);
    }

    [Test]
    public void OutputContainingTheCheckpoint_IsRefused_AndUnrelatedFilesSurvive()
    {
        var parent = TestCheckpoints.NewFolder("parent");
        var ckpt = Path.Combine(parent, "ckpt");
        Directory.CreateDirectory(parent);
        Directory.Move(Checkpoint(), ckpt);
        File.WriteAllText(Path.Combine(parent, "notes.txt"), "unrelated");
        var run = CliRunner.Run("export", ckpt, "--out", parent, "--force");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.Contain("contains the checkpoint"));
        AssertIntactCheckpoint(ckpt);
        Assert.That(File.ReadAllText(Path.Combine(parent, "notes.txt")), Is.EqualTo("unrelated"));
    }

    [Test]
    public void OutputReachingTheCheckpointThroughASymlink_IsRefused()
    {
        var ckpt = Checkpoint();
        var link = TestCheckpoints.NewFolder("link-to-ckpt");
        Directory.CreateSymbolicLink(link, ckpt);
        var run = CliRunner.Run("export", ckpt, "--out", link, "--force");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        AssertIntactCheckpoint(ckpt);
    }

    [Test]
    public void ForceReplacesAnExport_ButNotAFolderThatIsNotOne()
    {
        var ckpt = Checkpoint();
        var other = TestCheckpoints.NewFolder("not-an-export");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "thesis.tex"), "years of work");
        var refused = CliRunner.Run("export", ckpt, "--out", other, "--force");
        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.Error);
        Assert.That(refused.Error, Does.Contain("replaces only an exported model folder"));
        Assert.That(File.ReadAllText(Path.Combine(other, "thesis.tex")), Is.EqualTo("years of work"));

        // Control: an existing export is replaced, as --force promises.
        var export = TestCheckpoints.NewFolder("an-export");
        Assert.That(CliRunner.Run("export", ckpt, "--out", export).ExitCode, Is.Zero);
        File.WriteAllText(Path.Combine(export, "stale.txt"), "from before");
        var replaced = CliRunner.Run("export", ckpt, "--out", export, "--force");
        Assert.That(replaced.ExitCode, Is.Zero, replaced.Error);
        Assert.That(File.Exists(Path.Combine(export, ModelManifest.FileName)), Is.True);
        Assert.That(File.Exists(Path.Combine(export, "stale.txt")), Is.False);
    }

    [Test]
    public void TemporaryFoldersOfDeadExports_AreRemovedByTheNextExport()
    {
        var parent = TestCheckpoints.NewFolder("stale");
        var output = Path.Combine(parent, "out");
        // A pid that cannot be running (above the kernel's pid_max) and this process's own pid (running).
        var dead = Directory.CreateDirectory(output + ".tmp-2147483646-0123abcd").FullName;
        File.WriteAllBytes(Path.Combine(dead, "model.onnx.data"), new byte[4096]);
        var deadOld = Directory.CreateDirectory(output + ".old-2147483646-4567abcd").FullName;
        var live = Directory.CreateDirectory(output + $".tmp-{Environment.ProcessId}-89abcdef").FullName;

        var run = CliRunner.Run("export", Checkpoint(), "--out", output);
        Assert.That(run.ExitCode, Is.Zero, run.Error);
        Assert.That(Directory.Exists(dead), Is.False, "a dead export's temporary folder is removed");
        Assert.That(Directory.Exists(deadOld), Is.False);
        Assert.That(Directory.Exists(live), Is.True, "a running process's temporary folder is left alone");
    }

    [Test]
    public void ConcurrentFirstUseOfOneCheckpoint_ExportsOnceAndLeavesNoDebris()
    {
        var ckpt = Checkpoint();
        var cache = TestCheckpoints.NewFolder("shared-cache");
        var env = new Dictionary<string, string> { ["ADARAS_CACHE"] = cache };
        // Several processes at once (the real case), each resolving the checkpoint through the cache.
        var children = Enumerable.Range(0, 3).Select(_ => new ChildAdaras(["tokenize", "hello", "--model", ckpt], env)).ToList();
        var codes = children.Select(c => (Code: c.WaitForExit(TimeSpan.FromSeconds(180)), c.Error)).ToList();
        foreach (var c in children) c.Dispose();
        Assert.That(codes.Select(c => c.Code), Is.All.Zero, string.Join("\n", codes.Select(c => c.Error)));

        // And threads of one process, released together, through the library. The first export's first progress
        // report holds it for a second, so every other thread has long checked the cache and found nothing: only
        // the lock keeps them from exporting too (without it all four export: the assertion below fails).
        Environment.SetEnvironmentVariable("ADARAS_CACHE", cache + "-threads");
        try
        {
            using var start = new Barrier(4);
            var folders = new string[4];
            var exported = new int[4];
            var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                folders[i] = ModelResolver.Resolve(ckpt, progress: new SignalTests.SynchronousProgress(_ =>
                {
                    if (Interlocked.Exchange(ref exported[i], 1) == 0) Thread.Sleep(1000);
                }));
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.That(folders.Distinct().Count(), Is.EqualTo(1));
            Assert.That(exported.Sum(), Is.EqualTo(1), "one thread exports; the others wait for the lock and reuse its export");
        }
        finally { Environment.SetEnvironmentVariable("ADARAS_CACHE", null); }

        foreach (var root in new[] { cache, cache + "-threads" })
        {
            var entries = Directory.GetDirectories(Path.Combine(root, "exports"));
            Assert.That(entries, Has.Length.EqualTo(1), string.Join(", ", entries));
            Assert.That(File.Exists(Path.Combine(entries[0], ModelManifest.FileName)), Is.True);
        }
    }

    [Test]
    public void NonFiniteWeights_AreRefusedNamingTheTensor_AndNothingIsWritten()
    {
        var ckpt = Checkpoint();
        const string tensor = "model.layers.1.mlp.down_proj.weight";
        AdaRas.Tests.Model.SafeTensorsSurgery.EditTensors(Path.Combine(ckpt, "model.safetensors"), tensors =>
        {
            var t = tensors.Single(x => x.Name == tensor);
            BitConverter.GetBytes(float.NaN).CopyTo(t.Bytes, 4 * 7);   // element 7
        });
        var output = TestCheckpoints.NewFolder("nan-export");
        var run = CliRunner.Run("export", ckpt, "--out", output);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.Contain("model.safetensors").And.Contain(tensor).And.Contain("element 7"));
        Assert.That(Directory.Exists(output), Is.False);
    }
}
