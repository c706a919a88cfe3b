namespace SharpMM.Kernel;

/// <summary>A small class the heap-hook test allocates: one field, a known base type.</summary>
internal class HeapProbe
{
    public ulong Value;
}
