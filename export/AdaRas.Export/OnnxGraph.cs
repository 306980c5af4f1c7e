using Google.Protobuf;
using Onnx;

namespace AdaRas.Export;

/// <summary>
/// A thin layer over the ONNX protobuf messages (OnnxSharp's generated types): adds nodes, graph I/O and
/// de-duplicated constants with readable names, so the Qwen3 builder reads like the model it describes.
/// </summary>
sealed class OnnxGraph
{
    public GraphProto Proto { get; }
    readonly Dictionary<string, string> _constants;
    readonly HashSet<string> _names;
    readonly OnnxGraph _root;                               // this graph, or the one an If branch belongs to

    public OnnxGraph() : this("qwen3", null) { }

    OnnxGraph(string name, OnnxGraph? root)
    {
        Proto = new GraphProto { Name = name };
        _root = root ?? this;
        _constants = root?._constants ?? new();
        _names = root?._names ?? new();
    }

    /// <summary>
    /// A branch graph for an If node: its nodes read this graph's values from the outer scope, node names stay
    /// unique across both, and its constants are stored once, in the root graph.
    /// </summary>
    public OnnxGraph Subgraph(string name) => new(name, _root);

    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Bool = (int)TensorProto.Types.DataType.Bool;
    public const int Uint8 = (int)TensorProto.Types.DataType.Uint8;

    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Adds a node and returns its first output's name. Outputs are named "{name}/output_{i}"; "" skips an optional output.</summary>
    public string[] Node(string opType, string name, IEnumerable<string> inputs, int outputs = 1,
        string domain = "", params (string Name, object Value)[] attributes) =>
        NodeWithOutputs(opType, name, inputs, Enumerable.Range(0, outputs).Select(i => $"{name}/output_{i}"), domain, attributes);

    public string[] NodeWithOutputs(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs,
        string domain = "", params (string Name, object Value)[] attributes)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"duplicate node name {name}");
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        var outs = outputs.ToArray();
        node.Output.AddRange(outs);
        foreach (var (attrName, value) in attributes) node.Attribute.Add(Attribute(attrName, value));
        Proto.Node.Add(node);
        return outs;
    }

    public string One(string opType, string name, IEnumerable<string> inputs, string domain = "",
        params (string Name, object Value)[] attributes) => Node(opType, name, inputs, 1, domain, attributes)[0];

    static AttributeProto Attribute(string name, object value) => value switch
    {
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        double d => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)d },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ls => WithInts(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints }, ls),
        TensorProto t => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = t },
        GraphProto g => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = g },
        _ => throw new ArgumentException($"unsupported attribute type {value.GetType()} for {name}"),
    };

    static AttributeProto WithInts(AttributeProto a, long[] values) { a.Ints.AddRange(values); return a; }

    /// <summary>An int64 tensor constant (shape [n], or a scalar when <paramref name="scalar"/>), shared by value.</summary>
    public string Int64Constant(long[] values, bool scalar = false)
    {
        var key = (scalar ? "s:" : "v:") + string.Join(",", values);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var name = scalar ? $"/constants/INT64/{values[0]}" : $"/constants/INT64/[{string.Join(", ", values)}]";
        var t = new TensorProto { Name = name, DataType = Int64 };
        if (!scalar) t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        _root.Proto.Initializer.Add(t);
        _constants[key] = name;
        return name;
    }

    public string Int64Scalar(long value) => Int64Constant([value], scalar: true);

    public void Input(string name, int elemType, params object[] dims) => Proto.Input.Add(ValueInfo(name, elemType, dims));
    public void Output(string name, int elemType, params object[] dims) => Proto.Output.Add(ValueInfo(name, elemType, dims));

    /// <summary>An output whose shape is left to the runtime (an If branch's output).</summary>
    public void UnshapedOutput(string name, int elemType) =>
        Proto.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType } } });

    static ValueInfoProto ValueInfo(string name, int elemType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d is string s) dim.DimParam = s; else dim.DimValue = Convert.ToInt64(d);
            shape.Dim.Add(dim);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }

    public void Initializer(TensorProto tensor) => Proto.Initializer.Add(tensor);
}
