using System.CommandLine;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Steering.ControlVectors;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;

namespace AdaRas.Cli.Commands;

static class ControlVectorCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "Hugging Face Qwen3 checkpoint folder (its down_proj weights turn neuron shifts into residual vectors)",
            Required = true,
        };
        var steer = new SteerOptions(withPositions: false);
        steer.Pattern.Required = true;
        var output = new Option<string>("--out", "-o") { Description = "control-vector GGUF to write", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing file" };
        var command = new Command("control-vector",
            "Export steering of a pattern's top K neurons as a llama.cpp control vector (GGUF; steering_add or softplus_add)")
        {
            model, output, force,
        };
        steer.AddTo(command);
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var options = steer.Read(parse)!;
            var folder = parse.GetValue(model)!;
            if (ModelResolver.IsExported(folder))
                throw new AdaRas.Files.UsageException($"{folder}: an exported model folder; control vectors need the Hugging Face checkpoint it came from (for down_proj)");
            var outPath = parse.GetValue(output)!;
            if (!parse.GetValue(force) && File.Exists(outPath)) throw new IOException($"{outPath}: already exists (pass --force to replace it)");
            using var checkpoint = Checkpoint.Open(folder);
            // Hashing the weights takes a while on real models: only when the pattern records the model it came from.
            bool hasSidecar = File.Exists(PatternSidecar.PathFor(options.PatternPath))
                && PatternSidecar.Load(PatternSidecar.PathFor(options.PatternPath)).ModelId is not null;
            var shape = ModelShape.FromConfig(checkpoint.Config, hasSidecar ? ModelIdentity.Compute(checkpoint) : null);
            console.Cancellation.ThrowIfCancellationRequested();
            var pattern = RcnPattern.Load(options.PatternPath, shape);
            var vector = ControlVector.FromPattern(checkpoint, pattern, options.Neurons, options.Alpha, options.Method, console.Cancellation);
            console.Cancellation.ThrowIfCancellationRequested();   // the file is written atomically: all of it or nothing
            vector.WriteGguf(outPath, overwrite: parse.GetValue(force));
            var norms = vector.Directions.Select((d, l) => (Layer: l, Norm: Math.Sqrt(d.Sum(v => (double)v * v)))).Where(x => x.Norm > 0);
            console.Out.WriteLine($"wrote {outPath}: {options.Method.ToName()} alpha={options.Alpha} on the top {options.Neurons} of " +
                $"{Path.GetFileName(options.PatternPath)}; direction.1..direction.{vector.Layers - 1} (hidden {vector.HiddenSize}), non-zero at " +
                string.Join(", ", norms.Select(x => $"{x.Layer} (|v| {x.Norm:G3})")));
            return 0;
        }));
        return command;
    }
}
