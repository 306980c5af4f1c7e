using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

static class GenerateCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var prompt = new Argument<string>("prompt") { Description = "the user message" };
        var system = new Option<string?>("--system") { Description = "system message" };
        var noThinking = new Option<bool>("--no-thinking") { Description = "render the chat template with enable_thinking=false" };
        var raw = new Option<bool>("--raw") { Description = "feed the prompt as-is, without the chat template" };
        var math = new Option<bool>("--math") { Description = "wrap the prompt in the paper's math prompt (step-by-step thinking, answer in \\boxed{})" };
        var sampling = new SamplingOptions();
        var steering = new SteeringArguments();
        var command = new Command("generate", "Generate a reply to a prompt, streaming the text; optionally steering an RCN pattern's neurons, always or as a gate decides")
        {
            prompt, system, noThinking, raw, math,
        };
        sampling.AddTo(command);
        steering.AddTo(command);
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var parameters = sampling.Read(parse);
            using var m = model.Load(parse, console);
            var text = parse.GetValue(prompt)!;
            var request = new ChatRequest(parse.GetValue(math) ? PaperPrompts.MathUserMessage(text) : text)
            {
                SystemMessage = parse.GetValue(system),
                EnableThinking = !parse.GetValue(noThinking),
                Raw = parse.GetValue(raw),
            };
            using var policy = SteeringPolicy.Create(m, steering.Read(parse));
            if (policy.Mode == SteeringMode.Always) console.Error.WriteLine($"[steering: {policy.Describe()}]");
            var result = policy.Generate(request, parameters, onText: text => { console.Out.Write(text); console.Out.Flush(); },
                onDecision: d => console.Error.WriteLine(
                    $"[gate: p(correct) = {d.Score:F4}, threshold {d.Threshold:F4} -> {(d.Steer ? "steer" : "do not steer")} ({policy.Steerer!.Describe()})]"),
                onProbeCheck: c => console.Error.WriteLine(
                    $"[token probe after {c.GeneratedTokens} tokens: p(correct) = {c.Score:F4} -> steering {(c.Steer ? "on" : "off")}]"),
                cancellation: cancellation).Generation;
            console.Out.WriteLine();
            console.Error.WriteLine($"[{result.PromptTokens} prompt tokens, {result.TokenIds.Length} generated, " +
                $"prefill {result.PromptTokens / result.PrefillSeconds:F1} tok/s, decode {result.DecodeTokensPerSecond:F1} tok/s" +
                $"{(result.StoppedOnStopToken ? "" : ", stopped at the token limit")}]");
            return 0;
        })));
        return command;
    }
}
