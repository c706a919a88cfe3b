namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Unchecked reinterpretation and pointer arithmetic on references. Every method is an ilc
    /// intrinsic: ilc replaces the body with a few IL instructions (ldarg; ret for As/AsRef,
    /// ldarg; conv.u for AsPointer, sizeof; mul; add for Add, initblk/cpblk for the block methods).
    /// The C# bodies below only satisfy csc and are never compiled into the image (they would be
    /// wrong: the ref-returning ones dereference null).
    /// </summary>
    public static unsafe class Unsafe
    {
        [Intrinsic] public static T As<T>(object o) where T : class => default;
        [Intrinsic] public static ref TTo As<TFrom, TTo>(ref TFrom source) => ref *(TTo*)null;
        [Intrinsic] public static ref T AsRef<T>(void* source) => ref *(T*)source;
        [Intrinsic] public static ref T AsRef<T>(scoped ref readonly T source) => ref *(T*)null;
        [Intrinsic] public static void* AsPointer<T>(ref T value) => null;
        [Intrinsic] public static int SizeOf<T>() => sizeof(T);
        [Intrinsic] public static ref T Add<T>(ref T source, int elementOffset) => ref *(T*)null;
        [Intrinsic] public static ref T Add<T>(ref T source, nint elementOffset) => ref *(T*)null;
        [Intrinsic] public static ref T Add<T>(ref T source, nuint elementOffset) => ref *(T*)null;
        [Intrinsic] public static void* Add<T>(void* source, int elementOffset) => (byte*)source + (nint)elementOffset * sizeof(T);
        [Intrinsic] public static ref T Subtract<T>(ref T source, int elementOffset) => ref *(T*)null;
        [Intrinsic] public static ref T Subtract<T>(ref T source, nint elementOffset) => ref *(T*)null;
        [Intrinsic] public static ref T AddByteOffset<T>(ref T source, nint byteOffset) => ref *(T*)null;
        [Intrinsic] public static ref T AddByteOffset<T>(ref T source, nuint byteOffset) => ref *(T*)null;
        [Intrinsic] public static nint ByteOffset<T>(ref readonly T origin, ref readonly T target) => 0;
        [Intrinsic] public static bool AreSame<T>(ref readonly T left, ref readonly T right) => false;
        [Intrinsic] public static bool IsNullRef<T>(ref readonly T source) => false;
        [Intrinsic] public static ref T NullRef<T>() => ref *(T*)null;
        [Intrinsic] public static T Read<T>(void* source) => *(T*)source;
        [Intrinsic] public static T ReadUnaligned<T>(void* source) => *(T*)source;
        [Intrinsic] public static void Write<T>(void* destination, T value) { *(T*)destination = value; }
        [Intrinsic] public static void WriteUnaligned<T>(void* destination, T value) { *(T*)destination = value; }
        [Intrinsic] public static void SkipInit<T>(out T value) { value = default; }
        [Intrinsic] public static void InitBlock(void* startAddress, byte value, uint byteCount) { }
        [Intrinsic] public static void InitBlock(ref byte startAddress, byte value, uint byteCount) { }
        [Intrinsic] public static void InitBlockUnaligned(void* startAddress, byte value, uint byteCount) { }
        [Intrinsic] public static void InitBlockUnaligned(ref byte startAddress, byte value, uint byteCount) { }
        [Intrinsic] public static void CopyBlock(void* destination, void* source, uint byteCount) { }
        [Intrinsic] public static void CopyBlock(ref byte destination, ref readonly byte source, uint byteCount) { }
        [Intrinsic] public static void CopyBlockUnaligned(void* destination, void* source, uint byteCount) { }
        [Intrinsic] public static void CopyBlockUnaligned(ref byte destination, ref readonly byte source, uint byteCount) { }
    }
}
