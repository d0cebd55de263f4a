fn main() {
    flexedit::start();
}
