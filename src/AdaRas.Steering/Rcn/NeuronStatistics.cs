using AdaRas.Steering.Kernels;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.RadixSortOperations;
using ILGPU.Runtime;

namespace AdaRas.Steering.Rcn;

/// <summary>How <see cref="NeuronStatistics.Rank"/> orders the neurons; all give the same order.</summary>
internal enum RankingAlgorithm
{
    /// <summary>Device radix sort on CUDA, host selection on the CPU accelerator.</summary>
    Auto,
    /// <summary>ILGPU.Algorithms' RadixSortPairs of all keys (descending) with the neuron ids, on the device.</summary>
    DeviceRadixSort,
    /// <summary>Copy the keys to the host and keep the best K in a bounded heap.</summary>
    HostSelection,
}

/// <summary>
/// Accumulates per-trajectory mean MLP activations into per-class sums on the device and ranks all neurons
/// by how well they separate correct from incorrect reasoning (steps 2-3 of the method):
/// <c>mu+</c>/<c>mu-</c> = mean over correct/incorrect trajectories of each trajectory's token-mean,
/// <c>delta = mu+ - mu-</c>, <c>r = |delta| / (|mu+| + |mu-| + 1e-8)</c>, ranked by r descending, then
/// |delta| descending, then neuron id ascending.
/// </summary>
/// <remarks>
/// Sums are kept in double so that the order of thousands of trajectories does not matter at float precision.
/// A trajectory with NaN or infinity anywhere is rejected (<see cref="NonFiniteActivationException"/>) before
/// anything is added. Not thread-safe: one caller adds trajectories at a time.
/// </remarks>
internal sealed class NeuronStatistics : IDisposable
{
    readonly KernelDevice _device;
    readonly Accelerator _acc;

    readonly MemoryBuffer1D<float, Stride1D.Dense> _staging;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _layerFlags;
    readonly MemoryBuffer1D<double, Stride1D.Dense> _correctSum, _incorrectSum;
    readonly MemoryBuffer1D<float, Stride1D.Dense> _muPlus, _muMinus, _delta, _relative;
    readonly MemoryBuffer1D<ulong, Stride1D.Dense> _keys;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _ids;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _sortTemp;

    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, ArrayView<int>> _flagNonFinite;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, double, ArrayView<double>> _accumulate;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<double>, ArrayView<double>, double, double,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, ArrayView<int>> _contrast;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _gather;
    readonly RadixSortPairs<ulong, Stride1D.Dense, int, Stride1D.Dense> _sortDescending;
    readonly KernelConfig _launchAll;

    int _correct, _incorrect;
    long _correctTokens, _incorrectTokens;
    bool _contrastCurrent;
    bool _disposed;

    public int Layers { get; }
    public int IntermediateSize { get; }
    public int NeuronCount { get; }
    public ClassCounts Counts => new(_correct, _incorrect, _correctTokens, _incorrectTokens);

    public NeuronStatistics(KernelDevice device, int layers, int intermediateSize)
    {
        device.ThrowIfDisposed();
        if (layers <= 0) throw new ArgumentOutOfRangeException(nameof(layers), layers, "layer count must be positive");
        if (intermediateSize <= 0) throw new ArgumentOutOfRangeException(nameof(intermediateSize), intermediateSize, "intermediate size must be positive");
        long n = (long)layers * intermediateSize;
        if (n > int.MaxValue / 2) throw new ArgumentOutOfRangeException(nameof(intermediateSize), $"{layers} x {intermediateSize} neurons is too many to rank");

        _device = device;
        _acc = device.Accelerator;
        Layers = layers;
        IntermediateSize = intermediateSize;
        NeuronCount = (int)n;

        _staging = _acc.Allocate1D<float>(n);
        _layerFlags = _acc.Allocate1D<int>(layers);
        _correctSum = _acc.Allocate1D<double>(n);
        _incorrectSum = _acc.Allocate1D<double>(n);
        _muPlus = _acc.Allocate1D<float>(n);
        _muMinus = _acc.Allocate1D<float>(n);
        _delta = _acc.Allocate1D<float>(n);
        _relative = _acc.Allocate1D<float>(n);
        _keys = _acc.Allocate1D<ulong>(n);
        _ids = _acc.Allocate1D<int>(n);
        _sortTemp = _acc.Allocate1D<int>(
            _acc.ComputeRadixSortPairsTempStorageSize<ulong, int, DescendingUInt64>((Index1D)NeuronCount));

        _flagNonFinite = _acc.LoadKernel<ArrayView<float>, int, ArrayView<int>>(NeuronKernels.FlagNonFinite);
        _accumulate = _acc.LoadKernel<ArrayView<float>, double, ArrayView<double>>(NeuronKernels.Accumulate);
        _contrast = _acc.LoadKernel<ArrayView<double>, ArrayView<double>, double, double,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, ArrayView<int>>(NeuronKernels.Contrast);
        _gather = _acc.LoadKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(NeuronKernels.Gather);
        _launchAll = KernelLaunch.For(_acc, NeuronCount);
        _sortDescending = _acc.CreateRadixSortPairs<ulong, Stride1D.Dense, int, Stride1D.Dense, DescendingUInt64>();

        Reset();
    }

    /// <summary>Adds a trajectory given its per-layer token-mean activations (float [layers * I]).</summary>
    public void AddTrajectoryMean(string trajectoryId, bool correct, ReadOnlySpan<float> meanActivations, long tokenCount)
    {
        Upload(trajectoryId, meanActivations, tokenCount);
        Add(trajectoryId, correct, _staging.View, tokenCount, divisor: 1.0);
    }

    /// <summary>
    /// Adds a trajectory given the sum of its activations over its tokens (the graph's <c>mlp.sum</c> tap);
    /// the division by <paramref name="tokenCount"/> happens on the device.
    /// </summary>
    public void AddTrajectorySum(string trajectoryId, bool correct, ReadOnlySpan<float> tokenSums, long tokenCount)
    {
        Upload(trajectoryId, tokenSums, tokenCount);
        Add(trajectoryId, correct, _staging.View, tokenCount, divisor: tokenCount);
    }

    /// <summary>As <see cref="AddTrajectorySum(string,bool,ReadOnlySpan{float},long)"/>, for sums already on this device.</summary>
    public void AddTrajectorySum(string trajectoryId, bool correct, ArrayView<float> tokenSums, long tokenCount)
    {
        CheckTrajectory(trajectoryId, tokenSums.Length, tokenCount);
        Add(trajectoryId, correct, tokenSums, tokenCount, divisor: tokenCount);
    }

    void Upload(string trajectoryId, ReadOnlySpan<float> values, long tokenCount)
    {
        CheckTrajectory(trajectoryId, values.Length, tokenCount);
        _staging.View.CopyFromCPU(_acc.DefaultStream, values);
    }

    void CheckTrajectory(string trajectoryId, long length, long tokenCount)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(trajectoryId);
        if (length != NeuronCount)
            throw new ArgumentException($"trajectory '{trajectoryId}': {length} activations, expected {Layers} layers x {IntermediateSize} = {NeuronCount}");
        if (tokenCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(tokenCount), tokenCount, $"trajectory '{trajectoryId}': token count must be positive");
    }

    void Add(string trajectoryId, bool correct, ArrayView<float> values, long tokenCount, double divisor)
    {
        var stream = _acc.DefaultStream;
        _layerFlags.MemSetToZero(stream);
        _flagNonFinite(stream, _launchAll, values, IntermediateSize, _layerFlags.View);
        var flags = _layerFlags.GetAsArray1D(stream);
        if (flags.Any(f => f != 0))
            throw new NonFiniteActivationException(trajectoryId, Enumerable.Range(0, Layers).Where(l => flags[l] != 0).ToArray());

        _accumulate(stream, _launchAll, values, divisor, (correct ? _correctSum : _incorrectSum).View);
        if (correct) { _correct++; _correctTokens += tokenCount; }
        else { _incorrect++; _incorrectTokens += tokenCount; }
        _contrastCurrent = false;
    }

    /// <summary>Forgets every trajectory.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _correctSum.MemSetToZero();
        _incorrectSum.MemSetToZero();
        _acc.Synchronize();
        _correct = _incorrect = 0;
        _correctTokens = _incorrectTokens = 0;
        _contrastCurrent = false;
    }

    void ComputeOnDevice()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_correct == 0 || _incorrect == 0)
            throw new InvalidOperationException(
                $"RCN identification needs both correct and incorrect trajectories; have {_correct} correct and {_incorrect} incorrect");
        if (_contrastCurrent) return;
        _contrast(_acc.DefaultStream, _launchAll, _correctSum.View, _incorrectSum.View, _correct, _incorrect,
            _muPlus.View, _muMinus.View, _delta.View, _relative.View, _keys.View, _ids.View);
        _contrastCurrent = true;
    }

    /// <summary>mu+, mu-, delta and r of every neuron, copied to the host.</summary>
    public NeuronContrast ComputeContrast()
    {
        ComputeOnDevice();
        var s = _acc.DefaultStream;
        return new NeuronContrast(_muPlus.GetAsArray1D(s), _muMinus.GetAsArray1D(s), _delta.GetAsArray1D(s), _relative.GetAsArray1D(s));
    }

    /// <summary>
    /// Ranks all neurons by <see cref="RankKey"/> (r, then |delta|, then id) and returns the first
    /// <paramref name="top"/> with their statistics.
    /// </summary>
    /// <param name="algorithm">
    /// <see cref="RankingAlgorithm.Auto"/> sorts on the device with ILGPU's radix sort on CUDA, and selects the
    /// top K on the host on the CPU accelerator, where ILGPU simulates GPU thread groups and its radix sort is
    /// hundreds of times slower than a host selection (measured by RankingBench in AdaRas.Evaluation.Speed, <c>adaras bench --parts ranking</c>).
    /// </param>
    public IReadOnlyList<RankedNeuron> Rank(int top, RankingAlgorithm algorithm = RankingAlgorithm.Auto)
    {
        if (top < 1 || top > NeuronCount)
            throw new ArgumentOutOfRangeException(nameof(top), top, $"top must be between 1 and {NeuronCount}");
        if (algorithm == RankingAlgorithm.Auto)
            algorithm = _device.Backend == KernelBackend.Cuda ? RankingAlgorithm.DeviceRadixSort : RankingAlgorithm.HostSelection;
        ComputeOnDevice();
        var s = _acc.DefaultStream;
        var topIds = _ids.View.SubView(0, top);
        if (algorithm == RankingAlgorithm.DeviceRadixSort)
        {
            // Stable LSD radix sort, descending; ids enter in ascending order, so equal keys keep id order.
            _sortDescending(s, _keys.View, _ids.View, _sortTemp.View);
        }
        else
        {
            var selected = SelectTop(_keys.GetAsArray1D(s), top);
            topIds.CopyFromCPU(s, selected);
        }
        // Both paths overwrite keys or ids; the next ranking recomputes them.
        _contrastCurrent = false;

        using var muPlus = _acc.Allocate1D<float>(top);
        using var muMinus = _acc.Allocate1D<float>(top);
        using var delta = _acc.Allocate1D<float>(top);
        using var relative = _acc.Allocate1D<float>(top);
        _gather(s, KernelLaunch.For(_acc, top), topIds, _muPlus.View, _muMinus.View, _delta.View, _relative.View,
            muPlus.View, muMinus.View, delta.View, relative.View);

        var ids = new int[top];
        topIds.CopyToCPU(s, ids);
        var p = muPlus.GetAsArray1D(s);
        var m = muMinus.GetAsArray1D(s);
        var d = delta.GetAsArray1D(s);
        var r = relative.GetAsArray1D(s);
        var ranked = new RankedNeuron[top];
        for (int k = 0; k < top; k++)
            ranked[k] = new RankedNeuron(k + 1, ids[k], ids[k] / IntermediateSize, ids[k] % IntermediateSize, p[k], m[k], d[k], r[k]);
        return ranked;
    }

    /// <summary>The ids of the <paramref name="top"/> largest keys, key descending then id ascending (a bounded heap).</summary>
    internal static int[] SelectTop(ulong[] keys, int top)
    {
        // Min-heap on "goodness": the root is the worst of the kept neurons (smallest key, then largest id).
        var heap = new PriorityQueue<int, (ulong Key, int Id)>(top + 1, WorstFirst.Instance);
        for (int i = 0; i < keys.Length; i++)
        {
            if (heap.Count < top) heap.Enqueue(i, (keys[i], i));
            else if (WorstFirst.Instance.Compare((keys[i], i), PeekPriority(heap)) > 0) heap.EnqueueDequeue(i, (keys[i], i));
        }
        var result = new int[heap.Count];
        for (int k = result.Length - 1; k >= 0; k--) result[k] = heap.Dequeue();
        return result;
    }

    static (ulong Key, int Id) PeekPriority(PriorityQueue<int, (ulong Key, int Id)> heap) =>
        heap.TryPeek(out _, out var priority) ? priority : default;

    sealed class WorstFirst : IComparer<(ulong Key, int Id)>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare((ulong Key, int Id) a, (ulong Key, int Id) b)
        {
            int c = a.Key.CompareTo(b.Key);
            return c != 0 ? c : b.Id.CompareTo(a.Id);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var b in new MemoryBuffer[] { _staging, _layerFlags, _correctSum, _incorrectSum, _muPlus, _muMinus, _delta, _relative, _keys, _ids, _sortTemp })
            b.Dispose();
    }
}
