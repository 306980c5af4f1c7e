using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AdaRas.Model;

/// <summary>Element types a checkpoint may store. Names follow safetensors ("F32", "F16", "BF16").</summary>
internal enum TensorDType { F32, F16, BF16, I64, I32 }

internal static class TensorDTypes
{
    public static int SizeOf(this TensorDType t) => t switch
    {
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static string ToSafeTensorsName(this TensorDType t) => t.ToString();

    public static bool TryParse(string name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = TensorDType.F32; return true;
            case "F16": dtype = TensorDType.F16; return true;
            case "BF16": dtype = TensorDType.BF16; return true;
            case "I64": dtype = TensorDType.I64; return true;
            case "I32": dtype = TensorDType.I32; return true;
            default: dtype = default; return false;
        }
    }

    public static bool IsFloat(this TensorDType t) => t is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;

    /// <summary>Widens little-endian F32/F16/BF16 bytes to float32.</summary>
    public static void ToFloat32(TensorDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case TensorDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(src);
                for (int i = 0; i < halves.Length; i++) dst[i] = (float)halves[i];
                break;
            case TensorDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < raw.Length; i++) dst[i] = BFloat16ToSingle(raw[i]);
                break;
            default:
                throw new NotSupportedException($"{dtype} is not a floating-point type");
        }
    }

    /// <summary>bfloat16 is the upper half of an IEEE float32.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round-to-nearest-even float32 to bfloat16 (NaN kept quiet), as PyTorch does.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = (uint)BitConverter.SingleToInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>Encodes float32 values to the bytes of the given dtype (little-endian).</summary>
    public static byte[] FromFloat32(TensorDType dtype, ReadOnlySpan<float> src)
    {
        var bytes = new byte[src.Length * dtype.SizeOf()];
        FromFloat32(dtype, src, bytes);
        return bytes;
    }

    /// <summary>Encodes float32 values into <paramref name="dst"/>, which must hold exactly their encoded size.</summary>
    public static void FromFloat32(TensorDType dtype, ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (dst.Length != src.Length * dtype.SizeOf())
            throw new ArgumentException($"{src.Length} {dtype} values need {src.Length * dtype.SizeOf()} bytes, destination has {dst.Length}");
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case TensorDType.F16:
                for (int i = 0; i < src.Length; i++)
                    BinaryPrimitives.WriteHalfLittleEndian(dst.Slice(2 * i), (Half)src[i]);
                break;
            case TensorDType.BF16:
                for (int i = 0; i < src.Length; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(dst.Slice(2 * i), SingleToBFloat16(src[i]));
                break;
            default:
                throw new NotSupportedException($"{dtype} is not a floating-point type");
        }
    }
}
