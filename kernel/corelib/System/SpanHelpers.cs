using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>
    /// Block helpers that ilc binds the JIT's memset/memcpy/memzero helper calls to (by name).
    /// Written as plain loops so the JIT cannot turn them back into helper calls to themselves.
    /// </summary>
    internal static unsafe class SpanHelpers
    {
        internal static void Memmove(ref byte destination, ref byte source, nuint len)
            => Buffer.Memmove(ref destination, ref source, len);

        internal static void ClearWithoutReferences(ref byte b, nuint byteLength)
        {
            byte* p = (byte*)Unsafe.AsPointer(ref b);
            nuint i = 0;
            for (; i + 8 <= byteLength; i += 8) *(ulong*)(p + i) = 0;
            for (; i < byteLength; i++) p[i] = 0;
        }

        internal static void ClearWithReferences(ref nint ip, nuint pointerSizeLength)
            => ClearWithoutReferences(ref Unsafe.As<nint, byte>(ref ip), pointerSizeLength * (nuint)sizeof(nint));

        internal static void Fill(ref byte dest, byte value, nuint len)
        {
            byte* p = (byte*)Unsafe.AsPointer(ref dest);
            for (nuint i = 0; i < len; i++) p[i] = value;
        }
    }
}
