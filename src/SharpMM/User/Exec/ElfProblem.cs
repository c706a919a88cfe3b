namespace SharpMM.User.Exec;

/// <summary>Why <see cref="ElfImage.Parse"/> refused a file: one value per check, so a test
/// (and a kernel's log) can tell which rule the file broke. <see cref="ElfImage.Reason"/> gives
/// the sentence.</summary>
public enum ElfProblem : byte
{
    /// <summary>The file is a loadable executable.</summary>
    None = 0,
    /// <summary>Shorter than the ELF header.</summary>
    TruncatedHeader,
    /// <summary>Not "\x7fELF".</summary>
    BadMagic,
    /// <summary>EI_CLASS is neither ELFCLASS64 nor ELFCLASS32.</summary>
    WrongClass,
    /// <summary>EI_DATA is not little-endian.</summary>
    WrongByteOrder,
    /// <summary>EI_VERSION or e_version is not EV_CURRENT.</summary>
    WrongVersion,
    /// <summary>e_machine is not x86-64 (ELF64) or i386 (ELF32).</summary>
    WrongMachine,
    /// <summary>e_type is neither ET_EXEC nor ET_DYN (a relocatable object, a core file).</summary>
    WrongType,
    /// <summary>e_ehsize or e_phentsize is not the size of the class's header.</summary>
    BadHeaderSize,
    /// <summary>No program header.</summary>
    NoProgramHeaders,
    /// <summary>More program headers than <see cref="ElfImage.MaxProgramHeaders"/> (PN_XNUM included).</summary>
    TooManyProgramHeaders,
    /// <summary>The program header table lies (partly) past the end of the file.</summary>
    ProgramHeadersPastEnd,
    /// <summary>PT_INTERP: the program needs a dynamic linker, which is not supported.</summary>
    DynamicallyLinked,
    /// <summary>A second PT_PHDR, PT_TLS, PT_GNU_STACK or PT_INTERP.</summary>
    DuplicateHeader,
    /// <summary>A segment's p_filesz is above its p_memsz.</summary>
    FileSizeAboveMemorySize,
    /// <summary>A segment's file bytes lie (partly) past the end of the file, or offset + size wraps.</summary>
    SegmentPastEnd,
    /// <summary>p_align is not 0, 1 or a power of two, or p_vaddr and p_offset disagree modulo the page size.</summary>
    BadAlignment,
    /// <summary>A segment's addresses wrap or leave the class's user space.</summary>
    SegmentOutsideUserSpace,
    /// <summary>PT_LOAD segments not in ascending p_vaddr order.</summary>
    SegmentsUnsorted,
    /// <summary>Two PT_LOAD segments overlap, or share a page (each page gets one segment's rights here).</summary>
    SegmentsOverlap,
    /// <summary>More PT_LOAD segments than <see cref="ElfImage.MaxLoadSegments"/>.</summary>
    TooManySegments,
    /// <summary>No PT_LOAD segment with bytes in memory.</summary>
    NoLoadSegments,
    /// <summary>A segment both writable and executable (refused: W^X).</summary>
    WritableAndExecutable,
    /// <summary>The entry point is not inside an executable segment.</summary>
    EntryOutsideText,
    /// <summary>The program headers are not in the loaded image (neither PT_PHDR inside a
    /// segment's file bytes nor a segment covering e_phoff): AT_PHDR would point nowhere.</summary>
    ProgramHeadersNotLoaded,
    /// <summary>PT_TLS with p_filesz above p_memsz, file bytes past the end, or outside every segment.</summary>
    BadTls,
}
