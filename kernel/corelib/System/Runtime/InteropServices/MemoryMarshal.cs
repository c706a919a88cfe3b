using System.Runtime.CompilerServices;

namespace System.Runtime.InteropServices
{
    /// <summary>Low-level span construction (the compiler uses CreateSpan for [InlineArray] indexing).</summary>
    public static class MemoryMarshal
    {
        /// <summary>A span over <paramref name="length"/> elements starting at <paramref name="reference"/>; no checks.</summary>
        public static Span<T> CreateSpan<T>(scoped ref T reference, int length) => new Span<T>(ref Unsafe.AsRef(in reference), length);

        /// <summary>A read-only span over <paramref name="length"/> elements starting at <paramref name="reference"/>; no checks.</summary>
        public static ReadOnlySpan<T> CreateReadOnlySpan<T>(scoped ref readonly T reference, int length) => new ReadOnlySpan<T>(ref Unsafe.AsRef(in reference), length);

        /// <summary>A reference to element 0 (even of an empty span).</summary>
        public static ref T GetReference<T>(Span<T> span) => ref span._reference;

        /// <summary>A reference to element 0 (even of an empty span).</summary>
        public static ref T GetReference<T>(ReadOnlySpan<T> span) => ref span._reference;

        /// <summary>The bytes of a span of unmanaged values.</summary>
        public static Span<byte> AsBytes<T>(Span<T> span) where T : unmanaged
            => new Span<byte>(ref Unsafe.As<T, byte>(ref span._reference), span.Length * Unsafe.SizeOf<T>());

        /// <summary>The bytes of a read-only span of unmanaged values.</summary>
        public static ReadOnlySpan<byte> AsBytes<T>(ReadOnlySpan<T> span) where T : unmanaged
            => new ReadOnlySpan<byte>(ref Unsafe.As<T, byte>(ref span._reference), span.Length * Unsafe.SizeOf<T>());
    }
}
