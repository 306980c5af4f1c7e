using System.CommandLine;

namespace AdaRas.Cli.Commands;

/// <summary>Every verb of the `adaras` command, in the order `--help` lists them.</summary>
static class Verbs
{
    public static IEnumerable<Command> All(CliConsole console)
    {
        yield return DemoCommand.Create(console);
        yield return ExportCommand.Create(console);
        yield return MakeCheckpointCommand.Create(console);
        yield return InfoCommand.Create(console);
        yield return TokenizeCommand.Create(console);
        yield return GenerateCommand.Create(console);
        yield return ScoreCommand.Create(console);
        yield return IdentifyCommand.Create(console);
        yield return ControlVectorCommand.Create(console);
        yield return FeaturesCommand.Create(console);
        yield return GateCommand.Create(console);
        yield return ProbeL1Command.Create(console);
        yield return EvalCommand.Create(console);
        yield return ReportCommand.Create(console);
        yield return SweepCommand.Create(console);
        yield return BenchCommand.Create(console);
        yield return BenchCommand.CreateWorker(console);
    }
}
