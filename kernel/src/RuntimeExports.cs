using System.Runtime;
using System.Runtime.CompilerServices;
using Internal.Runtime;

namespace SharpMM.Kernel;

/// <summary>
/// Runtime entry points that code compiled by ilc calls by symbol name (the "Rhp" helpers of the
/// NativeAOT runtime, which the kernel does not link). Helpers with a narrower register contract
/// (write barriers, GC transitions, memset) are in arch/ARCH/runtime.S.
///
/// Object layout (ilc): an object reference points at its MethodTable pointer; the header word
/// (pointer sized: 8 bytes on x86-64, 4 on i386) sits just before it and is counted in
/// MethodTable.BaseSize. So an allocation of BaseSize (+ elements) bytes at p holds the object
/// at p + the header size.
/// </summary>
internal static unsafe class RuntimeExports
{
    private static int HeaderSize => sizeof(nint);

    [RuntimeExport("RhpNewFast")]
    private static object RhpNewFast(MethodTable* type) => Allocate(type, type->BaseSize);

    // ilc picks one of these by element type and array size; without a GC they are the same.
    [RuntimeExport("RhpNewArrayFast")]
    private static object RhpNewArrayFast(MethodTable* type, int length) => RhpNewArray(type, length);

    [RuntimeExport("RhpNewPtrArrayFast")]
    private static object RhpNewPtrArrayFast(MethodTable* type, int length) => RhpNewArray(type, length);

    [RuntimeExport("RhpNewArray")]
    private static object RhpNewArray(MethodTable* type, int length)
    {
        if (length < 0) KernelPanic.Fail("new array: negative length", (ulong)(uint)length);
        // 2^31 elements of at most 64 KiB each cannot overflow 64 bits.
        ulong size = type->BaseSize + (ulong)(uint)length * type->ComponentSize;
        size = (size + 7) & ~7UL;
        object array = Allocate(type, size);
        *(int*)(Address(array) + sizeof(nint)) = length;
        return array;
    }

    private static object Allocate(MethodTable* type, ulong size)
    {
        byte* p = (byte*)ManagedNewHook.Allocate((nuint)size);
        for (ulong i = 0; i < size; i += 8) *(ulong*)(p + i) = 0;
        nint obj = (nint)(p + HeaderSize);
        *(MethodTable**)obj = type;
        return Unsafe.As<nint, object>(ref obj);
    }

    private static byte* Address(object obj) => (byte*)Unsafe.As<object, nint>(ref obj);

    /// <summary><c>throw</c>: there is no unwinder and nothing catches; stop.</summary>
    [RuntimeExport("RhpThrowEx")]
    private static void RhpThrowEx(object exception) => KernelPanic.Fail("throw: exceptions are not supported freestanding");

    [RuntimeExport("RhpRethrow")]
    private static void RhpRethrow() => KernelPanic.Fail("rethrow: exceptions are not supported freestanding");

    /// <summary>Stack-cookie mismatch and other unrecoverable states detected by generated code.</summary>
    [RuntimeExport("RhpFallbackFailFast")]
    private static void RhpFallbackFailFast() => KernelPanic.Fail("fail-fast: stack buffer overrun or corrupted runtime state");

    /// <summary>System.Environment.FailFast in the corelib (bounds checks, bad casts...).</summary>
    [RuntimeExport("CorelibFailFast")]
    private static void CorelibFailFast(string message) => KernelPanic.Fail(message);
}
