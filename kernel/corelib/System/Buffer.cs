using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>Raw memory moves. ilc also calls <see cref="BulkMoveWithWriteBarrier"/> by name;
    /// with no GC a write barrier is a plain move.</summary>
    public static class Buffer
    {
        /// <summary>Copies <paramref name="byteCount"/> bytes; the ranges may overlap.</summary>
        internal static unsafe void Memmove(ref byte destination, ref byte source, nuint byteCount)
        {
            byte* d = (byte*)Unsafe.AsPointer(ref destination);
            byte* s = (byte*)Unsafe.AsPointer(ref source);
            if (d == s || byteCount == 0) return;
            if (d < s || d >= s + byteCount)
            {
                for (nuint i = 0; i < byteCount; i++) d[i] = s[i];
            }
            else
            {
                for (nuint i = byteCount; i > 0; i--) d[i - 1] = s[i - 1];
            }
        }

        internal static void BulkMoveWithWriteBarrier(ref byte destination, ref byte source, nuint byteCount)
            => Memmove(ref destination, ref source, byteCount);

        /// <summary>Copies <paramref name="byteCount"/> bytes; the ranges may overlap.</summary>
        public static unsafe void MemoryCopy(void* source, void* destination, long destinationSizeInBytes, long sourceBytesToCopy)
        {
            if (sourceBytesToCopy > destinationSizeInBytes) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            Memmove(ref *(byte*)destination, ref *(byte*)source, (nuint)sourceBytesToCopy);
        }
    }
}
