using System.CommandLine;
using System.Text.Json;
using AdaRas.Engine;

namespace AdaRas.Cli.Commands;

static class ScoreCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var text = new Option<string?>("--text") { Description = "text to teacher-force (raw, no chat template)" };
        var ids = new Option<string?>("--ids") { Description = "comma-separated token ids instead of text" };
        var command = new Command("score", "Teacher-force a text and print each token's log-probability given its prefix (JSON)") { text, ids };
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            using var m = model.Load(parse, console, cancellation);
            int[] tokens = (parse.GetValue(text), parse.GetValue(ids)) switch
            {
                ({ } t, null) => m.Tokenizer.Encode(t),
                (null, { } s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(x => int.TryParse(x, out var v) ? v : throw new AdaRas.Files.UsageException($"--ids: '{x}' is not an integer")).ToArray(),
                _ => throw new AdaRas.Files.UsageException("give exactly one of --text or --ids"),
            };
            var result = Scoring.Score(m, tokens, cancellation);
            // The first token has no prefix, so it carries no log-probability.
            var perToken = tokens.Select((id, t) => new { id, token = m.Tokenizer.IdToToken(id), log_prob = t == 0 ? (double?)null : result.LogProbs[t - 1] });
            console.Out.WriteLine(JsonSerializer.Serialize(new { ids = tokens, tokens = perToken, total = result.Total }));
            return 0;
        })));
        return command;
    }
}
