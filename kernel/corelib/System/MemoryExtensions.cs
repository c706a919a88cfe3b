using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>Span views of strings and arrays (the compiler also uses AsSpan for the implicit
    /// string-to-ReadOnlySpan&lt;char&gt; conversion).</summary>
    public static class MemoryExtensions
    {
        /// <summary>The characters of <paramref name="text"/> (empty for null). Built by hand:
        /// "=> text" would convert through this very method and recurse forever.</summary>
        public static ReadOnlySpan<char> AsSpan(this string text)
        {
            if ((object)text == null) return default;
            return new ReadOnlySpan<char>(ref Unsafe.AsRef(in text.GetPinnableReference()), text.Length);
        }

        /// <summary>The elements of <paramref name="array"/> (empty for null).</summary>
        public static Span<T> AsSpan<T>(this T[] array)
        {
            if (array == null) return default;
            return new Span<T>(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), array.Length);
        }

        /// <summary>The elements of <paramref name="array"/> as read-only (empty for null).</summary>
        public static ReadOnlySpan<T> AsReadOnlySpan<T>(this T[] array) => AsSpan(array);
    }

    /// <summary>Layout of an array object after its MethodTable pointer: length, padding, data.</summary>
    internal sealed class RawArrayData
    {
#pragma warning disable 0649
        public uint Length;
        public uint Padding;
        public byte Data;
#pragma warning restore 0649
    }
}
