namespace SharpMM.Kernel;

/// <summary>The i386 part of the in-kernel suite (KernelTests.RunAll runs it last).</summary>
internal static unsafe class ArchTests
{
    public static void RunAll(ref TestRunner r)
    {
    }
}
