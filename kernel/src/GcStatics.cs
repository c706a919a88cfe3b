using Internal.Runtime;

namespace SharpMM.Kernel;

/// <summary>
/// Allocates the blocks that hold reference-type static fields, as the NativeAOT runtime's
/// start-up would. Must run before any managed code reads such a field.
///
/// ilc emits a ReadyToRun header (symbol __ReadyToRunHeader) listing the module's sections:
/// <code>
///   header   uint signature "RTR\0", ushort major, minor, uint flags,
///            ushort sectionCount, byte entrySize (24 on 64-bit, 16 on 32-bit), byte entryType
///   entry    int sectionId, int flags, void* start, void* end   (pointers: 8 or 4 bytes)
/// </code>
/// Section 201 (GCStaticRegion) is an array of rel32 pointers, one per type with GC statics,
/// each to that type's static block:
/// <code>
///   block+0  rel32 -> GC-static MethodTable, low bits: 1 = not yet initialised,
///                                                      2 = has preinitialised data
///   block+4  rel32 -> preinitialised field data (only with flag 2)
/// </code>
/// Initialising a block allocates an object of that MethodTable (from gc_statics_storage, a
/// fixed 16 KiB area in .bss: the heap is not up this early), copies the preinitialised data
/// (references to frozen objects: string literals, constant arrays) and overwrites the block
/// with the object reference. Generated code then reads a static field as
/// [block] + pointer size + field offset. Without this step that read would go through the encoded
/// MethodTable pointer: wrong data, no fault. (i386: the rel32 pointers are COFF DISP32
/// relocations, which GNU ld resolves to the start of the target's section unless build.sh has
/// given them their offset first: kernel/tools/coff-rel32.cs.)
/// </summary>
internal static unsafe class GcStatics
{
    private const uint ReadyToRunSignature = 0x00525452;     // "RTR\0"
    private const int GcStaticRegionSection = 201;
    private const ulong FlagUninitialized = 1;
    private const ulong FlagHasPreInitializedData = 2;
    private const ulong FlagMask = 3;
    // The object header word before the MethodTable pointer: pointer sized.
    private static int HeaderSize => sizeof(nint);

    /// <summary>Number of static blocks initialised.</summary>
    public static int BlockCount { get; private set; }

    /// <summary>Bytes of gc_statics_storage used.</summary>
    public static ulong BytesUsed { get; private set; }

    /// <summary>Walks the GC static region. Returns false (and does nothing) when the header is
    /// not where ilc should have put it; the caller panics. Panics when the storage is too small.</summary>
    public static bool Initialize()
    {
        byte* header = Arch.ReadyToRunHeader();
        if (*(uint*)header != ReadyToRunSignature) return false;
        int sectionCount = *(ushort*)(header + 12);
        int entrySize = header[14];
        if (entrySize < 8 + 2 * sizeof(nint)) return false;

        byte* storage = Arch.GcStaticsStorage();
        byte* storageEnd = Arch.GcStaticsStorageEnd();
        byte* next = storage;
        int blocks = 0;

        for (int i = 0; i < sectionCount; i++)
        {
            byte* entry = header + 16 + i * entrySize;
            if (*(int*)entry != GcStaticRegionSection) continue;
            byte* start = *(byte**)(entry + 8);
            byte* end = *(byte**)(entry + 8 + sizeof(nint));
            for (byte* cell = start; cell < end; cell += sizeof(int))
            {
                byte* block = cell + *(int*)cell;
                ulong encoded = (ulong)(block + *(int*)block);
                if ((encoded & FlagUninitialized) == 0) continue;

                MethodTable* type = (MethodTable*)(encoded & ~FlagMask);
                ulong size = (type->BaseSize + 7UL) & ~7UL;
                if (size > (ulong)(storageEnd - next)) KernelPanic.Fail("gc statics: gc_statics_storage too small, need at least", (ulong)(next - storage) + size);

                for (ulong k = 0; k < size; k++) next[k] = 0;
                byte* obj = next + HeaderSize;
                *(MethodTable**)obj = type;
                if ((encoded & FlagHasPreInitializedData) != 0)
                {
                    byte* data = block + 4 + *(int*)(block + 4);
                    ulong dataSize = type->BaseSize - 2UL * (ulong)sizeof(nint);
                    for (ulong k = 0; k < dataSize; k++) obj[sizeof(nint) + (long)k] = data[k];
                }
                *(byte**)block = obj;
                next += size;
                blocks++;
            }
        }
        BlockCount = blocks;
        BytesUsed = (ulong)(next - storage);
        return true;
    }
}
