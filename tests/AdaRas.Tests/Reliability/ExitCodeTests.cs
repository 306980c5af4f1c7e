using AdaRas.Cli;
using AdaRas.Cli.Commands;
using AdaRas.Steering.Patterns;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// The exit-code contract: bad input (the one input-error type), I/O errors and cancellation are the user's to fix or
/// chose; everything else is a bug and must say so with its stack trace, not pass for "error: bad input".
/// </summary>
[TestFixture]
public sealed class ExitCodeTests
{
    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new ModelFormatException("/m/config.json", "bad"), 2);
        yield return new TestCaseData(new JsonLinesException("/d.jsonl", 3, "bad"), 2);
        yield return new TestCaseData(new PatternFormatException("/p.csv", 2, "bad"), 2);
        yield return new TestCaseData(new AdaRas.Evaluation.Experiments.ExperimentConfigException("/c.yaml", 4, "bad"), 2);
        yield return new TestCaseData(new UsageException("--top must be positive"), 2);
        yield return new TestCaseData(new FileNotFoundException("/x: not found"), 2);
        yield return new TestCaseData(new UnauthorizedAccessException("Access to the path '/x' is denied."), 2);
        yield return new TestCaseData(new AggregateException(new InputException("/y", 1, "bad")), 2);
        yield return new TestCaseData(new OperationCanceledException(), 130);
        // Bugs: these used to print as "error:" with exit 2, hiding the stack trace a fix needs.
        yield return new TestCaseData(new ArgumentException("index was out of range"), 1);
        yield return new TestCaseData(new InvalidOperationException("collection was modified"), 1);
        yield return new TestCaseData(new NullReferenceException(), 1);
        yield return new TestCaseData(new FormatException("input string was not in a correct format"), 1);
        yield return new TestCaseData(new InvalidDataException("bad state"), 1);
    }

    [TestCaseSource(nameof(Cases))]
    public void EachFailureMapsToItsExitCode(Exception e, int expected)
    {
        var error = new StringWriter();
        int code = CommandRunner.Run(new CliConsole(TextWriter.Null, error), () => throw e);
        Assert.That(code, Is.EqualTo(expected), error.ToString());
        if (expected == 2) Assert.That(error.ToString(), Does.StartWith("error: ").And.Not.Contain("   at "));
        if (expected == 1) Assert.That(error.ToString(), Does.Contain("internal error").And.Contain(e.GetType().FullName!).And.Contain("   at "));
        if (expected == 130) Assert.That(error.ToString(), Is.EqualTo("cancelled" + Environment.NewLine));
    }

    [Test]
    public void InputErrorsNameFileAndLine()
    {
        Assert.That(new InputException("/d.jsonl", 7, "broken").Message, Is.EqualTo("/d.jsonl:7: broken"));
        Assert.That(new InputException("/d.jsonl", null, "broken").Message, Is.EqualTo("/d.jsonl: broken"));
        Assert.That(new ModelFormatException("/m/model.safetensors", "bad shape", "lm_head.weight").Message,
            Is.EqualTo("/m/model.safetensors: tensor 'lm_head.weight': bad shape"));
        Assert.That(new JsonLinesException("/d.jsonl", 3, "bad"), Is.InstanceOf<InputException>());
    }

    [Test]
    public void AnErrorAfterAProgressLine_StartsOnALineOfItsOwn()
    {
        var run = CliRunner.Run("export", "/nonexistent/checkpoint", "--out", "/tmp/never");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        var error = new StringWriter();
        var console = new CliConsole(TextWriter.Null, new LineTrackingWriter(error));
        CommandRunner.Run(console, () => { console.Error.Write("\rlayer 3/28  40%  "); throw new UsageException("stop"); });
        Assert.That(error.ToString(), Is.EqualTo("\rlayer 3/28  40%  " + Environment.NewLine + "error: stop" + Environment.NewLine));
    }
}
