// Patches an i386 COFF object (ilc's output for the i386 kernel) before GNU ld links it into
// the ELF32 kernel: ld's COFF reader gives a REL32 (DISP32) relocation against a symbol defined
// in the same object the symbol's section as its target and drops the symbol's offset in that
// section, so a relative pointer to, say, a GC-static MethodTable in .rdata lands at the start of
// .rdata. Adding the symbol's value to the 32-bit field the relocation patches (its implicit
// addend) gives ld's result the offset back. Relocations against undefined symbols (calls into the
// assembly helpers, every DISP32 in code) are resolved right by ld and are left alone.
//
//   dotnet run kernel/tools/coff-rel32.cs -- OBJ     patches OBJ in place; prints what it changed
//
// Format (Microsoft PE/COFF specification): file header 20 bytes, section headers 40 bytes
// (raw data at +20, relocations at +24, relocation count at +32, flags at +36; with
// IMAGE_SCN_LNK_NRELOC_OVFL the count is the first relocation's address), relocations 10 bytes
// (address, symbol index, type; IMAGE_REL_I386_REL32 = 0x14), symbols 18 bytes (value at +8,
// section number at +12, aux count at +17).
using System;
using System.Buffers.Binary;
using System.IO;

if (args.Length != 1) { Console.Error.WriteLine("usage: coff-rel32 OBJ"); return 2; }
byte[] f = File.ReadAllBytes(args[0]);
if (f.Length < 20 || BinaryPrimitives.ReadUInt16LittleEndian(f) != 0x14c)
{
    Console.Error.WriteLine($"coff-rel32: {args[0]}: not an i386 COFF object (machine 0x14c)");
    return 1;
}
int sections = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(2));
long symtab = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(8));
long symbols = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(12));
int optional = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(16));
const ushort Rel32 = 0x14;
const uint RelocOverflow = 0x01000000;
int patched = 0;
for (int s = 0; s < sections; s++)
{
    var h = f.AsSpan(20 + optional + 40 * s, 40);
    long raw = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
    long relocs = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
    long count = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
    uint flags = BinaryPrimitives.ReadUInt32LittleEndian(h[36..]);
    long first = 0;
    if ((flags & RelocOverflow) != 0 && count == 0xFFFF)
    {
        count = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)relocs));
        first = 1;   // that entry holds the count
    }
    for (long r = first; r < count; r++)
    {
        var rel = f.AsSpan((int)(relocs + 10 * r), 10);
        if (BinaryPrimitives.ReadUInt16LittleEndian(rel[8..]) != Rel32) continue;
        long index = BinaryPrimitives.ReadUInt32LittleEndian(rel[4..]);
        if (index >= symbols) { Console.Error.WriteLine($"coff-rel32: relocation against symbol {index} of {symbols}"); return 1; }
        var sym = f.AsSpan((int)(symtab + 18 * index), 18);
        short section = BinaryPrimitives.ReadInt16LittleEndian(sym[12..]);
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(sym[8..]);
        if (section <= 0 || value == 0) continue;
        var field = f.AsSpan((int)(raw + BinaryPrimitives.ReadUInt32LittleEndian(rel)), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(field, BinaryPrimitives.ReadUInt32LittleEndian(field) + value);
        patched++;
    }
}
File.WriteAllBytes(args[0], f);
Console.WriteLine($"coff-rel32: {patched} REL32 relocations against defined symbols given their offset");
return 0;
