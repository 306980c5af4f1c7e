using System.CommandLine;
using AdaRas.Model;

namespace AdaRas.Cli.Commands;

static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "exported model folder" };
        var command = new Command("info", "Print an exported model's manifest (shapes, steering inputs, taps)") { model };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var path = Path.Combine(parse.GetValue(model)!, ModelManifest.FileName);
            var manifest = ModelManifest.Load(path);
            console.Out.WriteLine(File.ReadAllText(path).TrimEnd());
            return 0;
        }));
        return command;
    }
}
