using System.Diagnostics;
using AdaRas.Evaluation.Code;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// The sandbox attack tests again with an unprivileged harness: when this suite runs as root, it runs
/// <see cref="PythonSandboxTests"/> and the forgery and demo-code scoring tests in a child <c>dotnet test</c>
/// as uid 65534 (nobody), whose environment carries a canary the sandboxed code must not see.
/// </summary>
[TestFixture]
[NonParallelizable]
public class UnprivilegedSandboxTests
{
    [Test]
    public void SandboxAttackTestsPassWithAnUnprivilegedHarness()
    {
        if (!PythonSandbox.IsRoot) Assert.Ignore("already unprivileged: the attack tests ran as this user");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Ignore("setpriv (util-linux) is missing");
        var root = Directory.CreateTempSubdirectory("adaras-nobody-").FullName;
        try
        {
            // A copy of the managed test build (not the native runtimes) that uid 65534 can read.
            var bin = Path.Combine(root, "bin");
            var home = Path.Combine(root, "home");
            Directory.CreateDirectory(bin);
            Directory.CreateDirectory(home);
            foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory))
                File.Copy(file, Path.Combine(bin, Path.GetFileName(file)));
            foreach (var dir in new[] { "data", "Data" })
                CopyTree(Path.Combine(AppContext.BaseDirectory, dir), Path.Combine(bin, dir));
            Run("chmod", "-R", "a+rX", root);
            Run("chown", "65534:65534", home);

            var filter = "FullyQualifiedName~PythonSandboxTests|Name~ForgedResults|Name~DemoCodeAssertsAndInput";
            var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--",
                "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", $"HOME={home}", $"DOTNET_CLI_HOME={home}", "DOTNET_NOLOGO=1",
                "DOTNET_CLI_TELEMETRY_OPTOUT=1", "ADARAS_TEST_CANARY=canary-0451",
                "dotnet", "test", Path.Combine(bin, "AdaRas.Tests.dll"), "--filter", filter])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = home };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(TimeSpan.FromMinutes(8))) { p.Kill(true); Assert.Fail("the unprivileged test run did not finish"); }
            var output = stdout + stderr.Result;
            TestContext.Out.WriteLine(output);
            Assert.That(p.ExitCode, Is.Zero, output);
            Assert.That(output, Does.Match(@"Passed!\s+-\s+Failed:\s+0,\s+Passed:\s+[1-9]\d+"), output);
        }
        finally
        {
            Run("rm", "-rf", "--one-file-system", "--", root);
        }
    }

    static void CopyTree(string from, string to)
    {
        if (!Directory.Exists(from)) return;
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    static void Run(string tool, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, args) { UseShellExecute = false })!;
        p.WaitForExit();
    }
}
