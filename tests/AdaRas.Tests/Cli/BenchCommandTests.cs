using System.Diagnostics;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Cli;

/// <summary>`adaras bench` end to end on the tiny shape: worker processes, every part, the report files.</summary>
public class BenchCommandTests
{
    [Test]
    public void Bench_OnTheTinyShape_PrintsEveryRowAndWritesItsReport()
    {
        var cache = TestCheckpoints.NewFolder("bench-cache");
        var output = TestCheckpoints.NewFolder("bench-out");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "adaras.dll"), "bench", "--shapes", "tiny", "--prompt", "16",
                "--new-tokens", "8", "--reps", "1", "--identify-tokens", "32", "--out", output },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["ADARAS_CACHE"] = cache },
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(300_000), Is.True, "bench finished");
        Assert.That(process.ExitCode, Is.EqualTo(0), stderr.Result);
        Assert.That(stdout, Does.Contain("| engine, steerable |").And.Contain("| engine, plain |").And.Contain("| GenAI, steerable |")
            .And.Contain("steering 50 neurons").And.Contain("identify / scoring").And.Contain("RCN ranking").And.Contain("copy-bandwidth limit"));
        Assert.That(File.ReadAllText(Path.Combine(output, "bench.md")), Does.Contain("engine / GenAI decode"));
        Assert.That(File.ReadAllText(Path.Combine(output, "bench.json")), Does.Contain("PeakResidentBytes").Or.Contain("peak_resident_bytes"));
    }
}
