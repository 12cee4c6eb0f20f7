#include "posix/packetdrill/code_getsockopt.hpp"

#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace vlo::posix {
namespace {

struct Search {
    GetsockoptFn fn;
    int patched = 0;
    bool done = false;
};

// A dynamic-section address: glibc relocates most DT_* pointers in place, but not all
// loaders do (and vDSO-like objects never): an address below the load base is unrelocated.
std::uintptr_t dyn_addr(const dl_phdr_info* info, ElfW(Addr) p) {
    return p < info->dlpi_addr ? info->dlpi_addr + p : p;
}

bool patch_slot(std::uintptr_t slot, GetsockoptFn fn) {
    const long page = ::sysconf(_SC_PAGESIZE);
    auto* start = reinterpret_cast<void*>(slot & ~static_cast<std::uintptr_t>(page - 1));
    // The slot may sit in RELRO (read-only after relocation) or in a lazily bound .got.plt
    // that the loader still writes: the page stays writable.
    if (::mprotect(start, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE) != 0)
        return false;
    std::memcpy(reinterpret_cast<void*>(slot), &fn, sizeof fn);
    return true;
}

// Patches every JUMP_SLOT or GLOB_DAT relocation of `getsockopt` in one table.
void patch_table(const dl_phdr_info* info, const ElfW(Rela) * rela, std::size_t bytes,
                 const ElfW(Sym) * symtab, const char* strtab, Search& s) {
    for (std::size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
        const auto type = ELF64_R_TYPE(rela[i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
        const ElfW(Sym)& sym = symtab[ELF64_R_SYM(rela[i].r_info)];
        if (std::strcmp(strtab + sym.st_name, "getsockopt") != 0) continue;
        if (patch_slot(info->dlpi_addr + rela[i].r_offset, s.fn)) ++s.patched;
    }
}

int visit(dl_phdr_info* info, std::size_t, void* data) {
    auto& s = *static_cast<Search*>(data);
    if (s.done) return 1;
    s.done = true;  // the first object listed is the main program
    const ElfW(Dyn)* dyn = nullptr;
    for (int i = 0; i < info->dlpi_phnum; ++i)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn) return 1;
    const ElfW(Sym)* symtab = nullptr;
    const char* strtab = nullptr;
    const ElfW(Rela)* jmprel = nullptr, *rela = nullptr;
    std::size_t jmprel_bytes = 0, rela_bytes = 0;
    for (; dyn->d_tag != DT_NULL; ++dyn) {
        switch (dyn->d_tag) {
            case DT_SYMTAB:
                symtab = reinterpret_cast<const ElfW(Sym)*>(dyn_addr(info, dyn->d_un.d_ptr));
                break;
            case DT_STRTAB:
                strtab = reinterpret_cast<const char*>(dyn_addr(info, dyn->d_un.d_ptr));
                break;
            case DT_JMPREL:
                jmprel = reinterpret_cast<const ElfW(Rela)*>(dyn_addr(info, dyn->d_un.d_ptr));
                break;
            case DT_PLTRELSZ:
                jmprel_bytes = dyn->d_un.d_val;
                break;
            case DT_RELA:
                rela = reinterpret_cast<const ElfW(Rela)*>(dyn_addr(info, dyn->d_un.d_ptr));
                break;
            case DT_RELASZ:
                rela_bytes = dyn->d_un.d_val;
                break;
            default:
                break;
        }
    }
    if (!symtab || !strtab) return 1;
    if (jmprel) patch_table(info, jmprel, jmprel_bytes, symtab, strtab, s);
    if (rela) patch_table(info, rela, rela_bytes, symtab, strtab, s);
    return 1;
}

}  // namespace

bool redirect_program_getsockopt(GetsockoptFn fn) {
#if defined(__x86_64__)
    Search s{fn};
    dl_iterate_phdr(visit, &s);
    return s.patched > 0;
#else
    (void)fn;
    return false;  // the relocation types above are x86-64's
#endif
}

}  // namespace vlo::posix
