using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Workflows;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;

namespace AdaRas.Serving.Steering;

/// <summary>A pattern the server starts with, by the name requests use, with an optional gate trained for it.</summary>
public sealed record ServedPattern(string Name, string PatternPath, string? GatePath = null)
{
    /// <summary>Pairs <c>--pattern NAME=CSV</c> values with <c>--gate NAME=GATE</c> values; a gate for an unknown name, a name given
    /// twice or a value without NAME=PATH is a usage error.</summary>
    public static List<ServedPattern> Parse(IEnumerable<string> patterns, IEnumerable<string> gates)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in patterns)
        {
            var (name, path) = NameAndPath(p, "--pattern");
            if (!byName.TryAdd(name, path)) throw new AdaRas.Files.UsageException($"--pattern {name} is given twice");
        }
        var gateByName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in gates)
        {
            var (name, path) = NameAndPath(g, "--gate");
            if (!byName.ContainsKey(name)) throw new AdaRas.Files.UsageException($"--gate {name}=...: there is no --pattern {name}=...");
            if (!gateByName.TryAdd(name, path)) throw new AdaRas.Files.UsageException($"--gate {name} is given twice");
        }
        return byName.Select(kv => new ServedPattern(kv.Key, kv.Value, gateByName.GetValueOrDefault(kv.Key))).ToList();
    }

    static (string Name, string Path) NameAndPath(string value, string option)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1) throw new AdaRas.Files.UsageException($"{option} takes NAME=PATH, got '{value}'");
        return (value[..eq], value[(eq + 1)..]);
    }
}

/// <summary>A validated request: the steerer's options, and the gate to ask (or none).</summary>
sealed record ResolvedSteering(string Name, SteeringOptions Options, GateSetting Gate);

/// <summary>What to bind for one generation, and what to report about it; hand it back with <see cref="SteeringCatalog.Release"/>.</summary>
sealed record PreparedSteering(SteeringTensors? Tensors, SteeringOutcome Outcome)
{
    internal Steerer? Lease { get; init; }
}

/// <summary>
/// The serving side's one adapter over the steering machinery (<see cref="Steerer"/> for the tensors,
/// <see cref="AdaptiveSteering"/> for the gate): the patterns loaded once at start, a shared kernel device, and a
/// few steerers kept for recently used settings. <see cref="Prepare"/> and <see cref="Release"/> are called only
/// from the batch's thread, so one request at a time touches the steerers. A steerer bound to a running row is
/// leased: it is never evicted (nor disposed) under that row, so the cache may hold more than its size while
/// more distinct settings than that are running.
/// </summary>
sealed class SteeringCatalog : IDisposable
{
    const int CachedSteerers = 8;

    readonly AdaRas.Engine.LanguageModel _model;
    readonly KernelDevice _device;
    readonly Dictionary<string, Entry> _patterns = new(StringComparer.Ordinal);
    // Most recently used last; evicted from the front, skipping the leased ones.
    readonly List<Cached> _steerers = [];

    sealed class Cached(SteeringOptions options, Steerer steerer)
    {
        public SteeringOptions Options { get; } = options;
        public Steerer Steerer { get; } = steerer;
        public int Leases;
    }

    sealed record Entry(RcnPattern Pattern, Steerer? GateSteerer, AdaptiveSteering? Gate);

    public SteeringCatalog(AdaRas.Engine.LanguageModel model, IEnumerable<ServedPattern> patterns)
    {
        _model = model;
        _device = KernelDevice.CreateCpu();
        try
        {
            var shape = ModelShape.FromManifest(model.Manifest);
            foreach (var p in patterns)
            {
                if (string.IsNullOrWhiteSpace(p.Name)) throw new ArgumentException($"{p.PatternPath}: a served pattern needs a name");
                if (_patterns.ContainsKey(p.Name)) throw new ArgumentException($"pattern name '{p.Name}' is given twice");
                var pattern = RcnPattern.Load(p.PatternPath, shape);
                Steerer? gateSteerer = null;
                AdaptiveSteering? gate = null;
                if (p.GatePath is not null)
                {
                    // AdaptiveSteering owns the gate and its feature taps; its steerer is only a placeholder here,
                    // since each request brings its own settings.
                    gateSteerer = Steerer.Create(model, pattern, new SteeringOptions(p.PatternPath) { Neurons = Math.Min(50, pattern.Count) }, _device);
                    gate = AdaptiveSteering.Create(model, gateSteerer, p.GatePath);
                }
                _patterns.Add(p.Name, new Entry(pattern, gateSteerer, gate));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<string> Names => _patterns.Keys;

    public bool HasGate(string name) => _patterns.TryGetValue(name, out var e) && e.Gate is not null;

    /// <summary>Checks a request against the served patterns; every refusal names the field.</summary>
    public ResolvedSteering Resolve(SteeringRequest request)
    {
        if (!_patterns.TryGetValue(request.Pattern, out var entry))
            throw RequestException.Invalid(
                $"unknown steering pattern '{request.Pattern}'; this server has: {(Names.Count == 0 ? "none" : string.Join(", ", Names))}",
                "steering.pattern", "pattern_not_found");
        int k = request.Neurons ?? 50;
        if (k < 1 || k > entry.Pattern.Count)
            throw RequestException.Invalid($"steering.neurons must be between 1 and the pattern's {entry.Pattern.Count} neurons, got {k}", "steering.neurons");
        SteeringMethod method;
        try { method = SteeringMethods.Parse(request.Method ?? "steering_add"); }
        catch (ArgumentException e) { throw RequestException.Invalid(e.Message, "steering.method"); }
        if (method.NeedsMuPlus() && !entry.Pattern.HasClassMeans)
            throw RequestException.Invalid($"steering.method {method.ToName()} needs a pattern with class means; '{request.Pattern}' has only deltas (use steering_add)", "steering.method");
        var positions = request.Positions switch
        {
            null or "last" => SteeringPositions.Last,
            "all" => SteeringPositions.All,
            _ => throw RequestException.Invalid($"steering.positions must be \"last\" or \"all\", got '{request.Positions}'", "steering.positions"),
        };
        float alpha = request.Alpha ?? 0.3f;
        if (!float.IsFinite(alpha)) throw RequestException.Invalid("steering.alpha must be a finite number", "steering.alpha");
        if (request.Gate.Enabled && entry.Gate is null)
            throw RequestException.Invalid($"steering.gate: the server has no gate for pattern '{request.Pattern}' (start it with --pattern {request.Pattern}=<csv>,<gate>)", "steering.gate");
        var options = new SteeringOptions(entry.Pattern.SourcePath) { Neurons = k, Alpha = alpha, Method = method, Positions = positions };
        return new ResolvedSteering(request.Pattern, options, request.Gate);
    }

    /// <summary>Runs the gate when asked (one pass of the question through the model) and returns the tensors to bind.</summary>
    public PreparedSteering Prepare(ResolvedSteering steering, string question)
    {
        var entry = _patterns[steering.Name];
        double? p = null, threshold = null;
        bool steer = true;
        if (steering.Gate.Enabled)
        {
            var decision = entry.Gate!.Decide(question);
            p = decision.Score;
            threshold = steering.Gate.Threshold ?? decision.Threshold;
            steer = p < threshold; // AdaptiveSteering's rule: steer when p(correct) is below the threshold
        }
        var outcome = new SteeringOutcome(steering.Name, steer, p, threshold, steering.Options.ToString());
        if (!steer) return new PreparedSteering(null, outcome);
        var cached = SteererFor(entry, steering.Options);
        cached.Leases++;
        return new PreparedSteering(cached.Steerer.Tensors, outcome) { Lease = cached.Steerer };
    }

    /// <summary>The generation that bound <paramref name="prepared"/> is over: its steerer may be evicted again.</summary>
    public void Release(PreparedSteering prepared)
    {
        if (prepared.Lease is null) return;
        var cached = _steerers.Find(c => ReferenceEquals(c.Steerer, prepared.Lease))
            ?? throw new InvalidOperationException("released a steerer this catalog does not hold");
        if (cached.Leases <= 0) throw new InvalidOperationException("a steerer was released more often than leased");
        cached.Leases--;
        Evict();
    }

    /// <summary>Leases held now (0 when no generation runs: a leak shows here).</summary>
    internal int Leased => _steerers.Sum(c => c.Leases);

    Cached SteererFor(Entry entry, SteeringOptions options)
    {
        int i = _steerers.FindIndex(s => s.Options == options);
        if (i >= 0)
        {
            var hit = _steerers[i];
            _steerers.RemoveAt(i);
            _steerers.Add(hit);
            return hit;
        }
        var cached = new Cached(options, Steerer.Create(_model, entry.Pattern, options, _device));
        _steerers.Add(cached);
        Evict();
        return cached;
    }

    /// <summary>Least recently used first, over the cache size, never a leased one (nor the one just made).</summary>
    void Evict()
    {
        for (int i = 0; i < _steerers.Count - 1 && _steerers.Count > CachedSteerers;)
        {
            if (_steerers[i].Leases > 0) { i++; continue; }
            _steerers[i].Steerer.Dispose();
            _steerers.RemoveAt(i);
        }
    }

    public void Dispose()
    {
        foreach (var c in _steerers) c.Steerer.Dispose();
        _steerers.Clear();
        foreach (var e in _patterns.Values) e.GateSteerer?.Dispose();
        _patterns.Clear();
        _device.Dispose();
    }
}
