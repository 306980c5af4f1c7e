using System.CommandLine;
using AdaRas.Engine;

namespace AdaRas.Cli.Commands;

static class GenerateCommand
{
    public static Command Create(CliConsole console)
    {
        var model = ModelOption.Create();
        var prompt = new Argument<string>("prompt") { Description = "the user message" };
        var system = new Option<string?>("--system") { Description = "system message" };
        var noThinking = new Option<bool>("--no-thinking") { Description = "render the chat template with enable_thinking=false" };
        var raw = new Option<bool>("--raw") { Description = "feed the prompt as-is, without the chat template" };
        var math = new Option<bool>("--math") { Description = "wrap the prompt in the paper's math prompt (step-by-step thinking, answer in \\boxed{})" };
        var sampling = new SamplingOptions();
        var steering = new SteeringArguments();
        var command = new Command("generate", "Generate a reply to a prompt, streaming the text; optionally steering an RCN pattern's neurons, always or as a gate decides")
        {
            prompt, model, system, noThinking, raw, math,
        };
        sampling.AddTo(command);
        steering.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var parameters = sampling.Read(parse);
            using var m = ModelOption.Load(parse, model, console);
            var text = parse.GetValue(prompt)!;
            var request = new ChatRequest(parse.GetValue(math) ? AdaRas.Evaluation.Prompts.PromptBuilder.MathUserMessage(text) : text)
            {
                SystemMessage = parse.GetValue(system),
                EnableThinking = !parse.GetValue(noThinking),
                Raw = parse.GetValue(raw),
            };
            using var session = steering.Open(parse, m, console);
            var result = session.Generate(m, request, parameters, onText: text => { console.Out.Write(text); console.Out.Flush(); },
                cancellation: cancellation);
            console.Out.WriteLine();
            console.Error.WriteLine($"[{result.PromptTokens} prompt tokens, {result.TokenIds.Length} generated, " +
                $"prefill {result.PromptTokens / result.PrefillSeconds:F1} tok/s, decode {result.DecodeTokensPerSecond:F1} tok/s" +
                $"{(result.StoppedOnStopToken ? "" : ", stopped at the token limit")}]");
            return 0;
        })));
        return command;
    }
}
