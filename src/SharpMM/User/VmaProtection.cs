namespace SharpMM.User;

/// <summary>
/// What user mode may do with a region's pages (mmap's PROT_* bits). <see cref="None"/> keeps
/// the region reserved but every user access faults (a guard). x86 cannot express write-only
/// or execute-only: a page that is writable or executable is also readable, so Write and
/// Execute imply Read for the hardware, and the fault handler checks the region's bits.
/// </summary>
[System.Flags]
public enum VmaProtection : byte
{
    /// <summary>No user access (PROT_NONE).</summary>
    None = 0,
    /// <summary>Loads.</summary>
    Read = 1,
    /// <summary>Stores.</summary>
    Write = 2,
    /// <summary>Instruction fetches (needs NX support to be refused on the others).</summary>
    Execute = 4,
    /// <summary>Read and write: data, heap, stack.</summary>
    ReadWrite = Read | Write,
    /// <summary>Read and execute: program text.</summary>
    ReadExecute = Read | Execute,
}
