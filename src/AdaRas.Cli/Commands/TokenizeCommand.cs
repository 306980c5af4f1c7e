using System.CommandLine;
using System.Text.Json;

namespace AdaRas.Cli.Commands;

static class TokenizeCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var text = new Argument<string>("text") { Description = "text to tokenize (special tokens such as <|im_start|> are kept whole)" };
        var command = new Command("tokenize", "Print the token ids of a text as JSON") { text };
        model.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            using var m = model.Load(parse, console);
            var ids = m.Tokenizer.Encode(parse.GetValue(text)!);
            console.Out.WriteLine(JsonSerializer.Serialize(new { ids, tokens = ids.Select(i => m.Tokenizer.IdToToken(i)).ToArray() }));
            return 0;
        }));
        return command;
    }
}
