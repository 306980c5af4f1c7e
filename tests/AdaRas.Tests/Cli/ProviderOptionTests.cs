using System.CommandLine;
using AdaRas.Cli;
using AdaRas.Cli.Commands;
using AdaRas.Model.Synthetic;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Cli;

/// <summary>`--provider cpu|cuda` on every verb that runs a model, exercised on the CPU build.</summary>
[TestFixture]
public sealed class ProviderOptionTests
{
    static IEnumerable<Command> AllCommands(IEnumerable<Command> commands) =>
        commands.SelectMany(c => AllCommands(c.Subcommands).Prepend(c));

    [Test]
    public void EveryVerbThatTakesAModel_TakesAProvider()
    {
        var console = new CliConsole(TextWriter.Null, TextWriter.Null);
        // control-vector reads a checkpoint's weights; it never runs the model.
        var withModel = AllCommands(Verbs.All(console)).Where(c => c.Options.Any(o => o.Name == "--model") && c.Name != "control-vector" && c.Name != "quantization").ToList();
        Assert.That(withModel.Select(c => c.Name), Is.SupersetOf(new[] { "generate", "score", "tokenize", "identify", "select", "train", "evaluate", "probe-l1", "eval", "sweep", "demo" }));
        foreach (var command in withModel)
            Assert.That(command.Options.Select(o => o.Name), Does.Contain("--provider"), command.Name);
    }

    [Test]
    public void Cpu_IsTheDefault_AndCudaIsRefusedByTheCpuBuild()
    {
        var model = TestExports.Folder(CheckpointShapes.Tiny);
        var plain = CliRunner.Run("generate", "hi", "--model", model, "--max-new-tokens", "4");
        var cpu = CliRunner.Run("generate", "hi", "--model", model, "--max-new-tokens", "4", "--provider", "cpu");
        Assert.That((cpu.ExitCode, cpu.Out), Is.EqualTo((0, plain.Out)), cpu.ToString());
#if !ADARAS_CUDA
        var cuda = CliRunner.Run("generate", "hi", "--model", model, "--max-new-tokens", "4", "--provider", "cuda");
        Assert.That(cuda.ExitCode, Is.Not.Zero);
        Assert.That(cuda.Error, Does.Contain("CUDA"), "the CPU build says it has no CUDA provider");
#endif
        var bogus = CliRunner.Run("generate", "hi", "--model", model, "--provider", "tpu");
        Assert.That(bogus.ExitCode, Is.Not.Zero);
        Assert.That(bogus.Error, Does.Contain("tpu"));
    }
}
