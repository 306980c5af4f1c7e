namespace AdaRas.Tests.Probing;

/// <summary>Runs the `adaras` command in-process and keeps what it printed.</summary>
sealed record CliRun(int ExitCode, string Out, string Error)
{
    public static CliRun Of(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = AdaRas.Cli.Program.Run(args, stdout, stderr);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\n--- stderr ---\n{Error}\n--- stdout ---\n{Out}";
}
